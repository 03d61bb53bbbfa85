// Fidelity on the real-page corpus (issue 19), as numbers: starts the release `tandem` on a
// temporary SQLite database with its defaults, and for every corpus page prints the share of
// pixels that differ between the customer's viewport and the mirror at rest, after scrolling and
// after an interaction, the full snapshot's size (JSON, as the web SDK records it) and what went
// over the socket until the first paint, the page's DOM size, the time from the customer's
// consent to the page on the agent's screen, and the recorder's longest main-thread task after
// consent. Asserts nothing; the suite (e2e/fidelity.test.mjs) holds the bounds. RUNS rounds
// (default 3) over the corpus; every round's figures go to target/bench/fidelity.json.
//
//   make bench-fidelity        (builds the SDK, the corpus and the release binary first)
//   node sdk-js/bench/fidelity.mjs      (from the repository root; TANDEM_BIN, TANDEM_CORPUS,
//                                         TANDEM_CORPUS_ONLY, TANDEM_FIDELITY_KEEP, RUNS, BENCH_NAME,
//                                         and any TANDEM_* server setting, e.g.
//                                         TANDEM_SOCKET_MAX_MESSAGE_BYTES)
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir, homedir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { chromium } from 'playwright-core'
import { corpusPages, runPage, table, ARTIFACTS } from '../e2e/corpus.mjs'
import { Report } from './report.mjs'

const root = new URL('../../', import.meta.url).pathname
const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/tandem-target')
const bin = process.env.TANDEM_BIN ?? join(targetDir, 'release/tandem')
const corpus = process.env.TANDEM_CORPUS ?? join(root, 'tests/corpus/pages')
if (!existsSync(bin)) throw new Error(`no tandem binary at ${bin}: cargo build --release -p tandem-api --bin tandem`)
if (!existsSync(join(corpus, '.stamp'))) throw new Error(`no corpus in ${corpus}: make corpus`)

const runs = Number(process.env.RUNS ?? 3)
if (!(runs >= 1)) throw new Error('RUNS must be at least 1')
const report = new Report(process.env.BENCH_NAME ?? 'fidelity')
report.config('runs', runs)

/** One round's figures of one page, into the report. */
function record (row) {
  const add = (what, unit, value) => { if (typeof value === 'number') report.add(`${row.name}.${what}`, unit, value) }
  for (const [step, ratio] of Object.entries(row.steps)) add(`${step}.differ`, 'share', ratio)
  add('snapshot', 'bytes', row.snapshotBytes)
  add('sent_to_first_paint', 'bytes', row.wireBytes)
  add('first_paint', 'ms', row.firstPaint)
  add('longest_task', 'ms', row.longestTask)
  add('nodes', 'nodes', row.nodes)
  report.add(`${row.name}.failures`, 'count', row.failures.length)
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fidelity-'))
// The server reads TANDEM_* settings and refuses unknown ones: not the harness's own.
const harness = ['TANDEM_BIN', 'TANDEM_CORPUS', 'TANDEM_CORPUS_ONLY', 'TANDEM_FIDELITY_KEEP', 'TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE']
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !harness.includes(k))),
  TANDEM_DATABASE_URL: `sqlite://${dir}/bench.db`,
  TANDEM_BOOTSTRAP_ACCOUNT: '',
  RUST_LOG: process.env.RUST_LOG ?? 'warn'
}
const tandem = (...args) => execFileSync(bin, args, { env, cwd: root, encoding: 'utf8' }).trim()

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
})
const api = `http://127.0.0.1:${port}`
const account = JSON.parse(tandem('account', 'create', '--name', 'Fidelity bench'))
const license = account.license_key
// The corpus pages are served from 127.0.0.1, a port each: the viewer may load their assets.
tandem('account', 'update', '--account', license, '--settings', JSON.stringify({ asset_origins: ['http://127.0.0.1:*'] }))
// The private half is written to a file of the bench's own (the server keeps it only sealed, with
// a key_encryption_key this bench does not set).
tandem('keys', 'generate', '--account', license, '--out', join(dir, 'key.pem'))
const token = tandem('token', '--account', license, '--key', join(dir, 'key.pem'), '--email', 'bench@example.com', '--role', 'administrator')

const server = spawn(bin, ['serve'], { env: { ...env, TANDEM_LISTEN: `127.0.0.1:${port}` }, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
const stop = () => { server.kill(); rmSync(dir, { recursive: true, force: true }) }
let browser
try {
  for (let i = 0; ; i++) {
    const ok = await fetch(`${api}/readyz`).then((r) => r.ok, () => false)
    if (ok) break
    if (i > 200) throw new Error('the server did not become ready')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  let rows = []
  for (let round = 1; round <= runs; round++) {
    rows = []
    for (const page of corpusPages()) {
      process.stderr.write(`round ${round} of ${runs}: ${page.name}… `)
      try {
        rows.push(await runPage({ browser, api, token, license, corpus, page, keepAll: !!process.env.TANDEM_FIDELITY_KEEP }))
      } catch (e) {
        rows.push({ name: page.name, steps: {}, failures: [String(e.message ?? e).split('\n')[0]], artifacts: [] })
      }
      record(rows[rows.length - 1])
      process.stderr.write('done\n')
    }
    const limit = process.env.TANDEM_SOCKET_MAX_MESSAGE_BYTES ?? 'the default'
    console.log(`\nFidelity on the real-page corpus, round ${round} of ${runs} (customer 1024x768, mirror at scale 1; socket_max_message_bytes: ${limit})\n`)
    console.log(table(rows))
  }
  console.log('\nrest / scroll / interaction: share of the viewport\'s pixels that differ (bound 2%); first paint: consent → the page in the viewer;')
  console.log('snapshot: the full snapshot as JSON; sent: bytes the customer sent from consent to first paint; longest task: after consent.')
  const failing = rows.filter((r) => r.failures.length)
  if (failing.length) {
    console.log(`\nOutside the bounds (PNGs: customer | mirror | diff, in ${ARTIFACTS}):`)
    for (const r of failing) console.log(`  ${r.name}: ${r.failures.map((f) => f.split('\n')[0]).join('; ')}`)
  }
  report.write()
} finally {
  await browser?.close()
  stop()
}
