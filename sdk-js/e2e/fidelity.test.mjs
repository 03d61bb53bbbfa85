// Fidelity on real pages (issue 19): every page of the corpus (tests/corpus/pages.json, fetched
// by tests/corpus/fetch.sh) served from its own origin with the web SDK, mirrored in the viewer
// at scale 1, and compared at rest, after scrolling and after an interaction: at most 2% of the
// viewport's pixels differ, and the visible text is the same. A failing step keeps the
// customer | mirror | diff PNGs in sdk-js/e2e/artifacts/ and names them.
//
//   TANDEM_API=… TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> TANDEM_CORPUS=tests/corpus/pages \
//     [TANDEM_CORPUS_ONLY=pg-select,features] [TANDEM_FIDELITY_KEEP=1] node --test sdk-js/e2e/fidelity.test.mjs
//
// TANDEM_CORPUS_ONLY runs the named pages only; TANDEM_FIDELITY_KEEP keeps every step's PNGs.
//
// The Rust test api/tests/it/fidelity.rs starts the server and runs this file.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { environment, useBrowser } from './helpers.mjs'
import { corpusPages, runPage, table, MAX_DIFF } from './corpus.mjs'

const env = environment(['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE', 'TANDEM_CORPUS'])
const browser = useBrowser()
const pages = corpusPages()
const rows = []

for (const page of pages) {
  test(`${page.name} (${page.generator}) mirrors within ${MAX_DIFF * 100}% and with the same text`, { skip: !env }, async () => {
    const row = await runPage({
      browser: browser(),
      api: env.TANDEM_API,
      token: env.TANDEM_TOKEN,
      license: env.TANDEM_LICENSE,
      corpus: env.TANDEM_CORPUS,
      page,
      keepAll: !!process.env.TANDEM_FIDELITY_KEEP
    })
    rows.push(row)
    const artefacts = row.artifacts.length ? `\n  side by side (customer | mirror | diff):\n    ${row.artifacts.join('\n    ')}` : ''
    assert.deepEqual(row.failures, [], `${page.name}:\n  ${row.failures.join('\n  ')}${artefacts}`)
  })
}

// What the corpus must hold, measured (only on the whole corpus).
test('the corpus has 10 pages of several generators, a 3 MB snapshot and a 20,000-element page', { skip: !env || !!process.env.TANDEM_CORPUS_ONLY }, () => {
  assert.ok(pages.length >= 10, `${pages.length} pages`)
  assert.ok(new Set(pages.map((p) => p.root)).size >= 8, 'pages from at least 8 sites')
  const measured = rows.filter((r) => r.snapshotBytes !== undefined)
  assert.ok(measured.some((r) => r.snapshotBytes >= 3_000_000),
    `no page has a 3 MB snapshot: ${measured.map((r) => `${r.name} ${r.snapshotBytes}`).join(', ')}`)
  assert.ok(measured.some((r) => r.elements >= 20_000),
    `no page has 20,000 elements: ${measured.map((r) => `${r.name} ${r.elements}`).join(', ')}`)
})

after(() => {
  if (rows.length) console.log(`\n${table(rows)}\n`)
})
