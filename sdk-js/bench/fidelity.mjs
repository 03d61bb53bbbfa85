// Fidelity on the real-page corpus (issue 19), as numbers: starts the release `tandem` on a
// temporary SQLite database with its defaults, and for every corpus page prints the share of
// pixels that differ between the customer's viewport and the mirror at rest, after scrolling and
// after an interaction, the full snapshot's size (JSON, as the web SDK records it) and what went
// over the socket until the first paint, the page's DOM size, the time from the customer's
// consent to the page on the agent's screen, the longest task on the customer's main thread from
// consent to the full snapshot sent (a Chromium trace: every task, whoever ran it; bench/tasks.mjs)
// and the longest task a PerformanceObserver saw after consent (50 ms or more, to the end of the
// steps: the page's own work in the interaction included). With TANDEM_PROFILE=1, a CPU profile
// of the customer's page prints what ran in that longest task, by the SDK's source lines. Asserts nothing; the suite (e2e/fidelity.test.mjs) holds the bounds. RUNS rounds
// (default 3) over the corpus; every round's figures go to target/bench/fidelity.json.
//
//   make bench-fidelity        (builds the SDK, the corpus and the release binary first)
//   node sdk-js/bench/fidelity.mjs      (from the repository root; TANDEM_BIN, TANDEM_CORPUS,
//                                         TANDEM_CORPUS_ONLY, TANDEM_FIDELITY_KEEP, TANDEM_PROFILE, RUNS, BENCH_NAME,
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
import { bundleMap, mainThreadTasks, profileBetween, TRACE_CATEGORIES } from './tasks.mjs'

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
  add('task_to_sent', 'ms', row.consentTask)
  add('longest_task', 'ms', row.longestTask)
  add('nodes', 'nodes', row.nodes)
  report.add(`${row.name}.failures`, 'count', row.failures.length)
}

const profiling = !!process.env.TANDEM_PROFILE
const maps = { 'tandem.js': bundleMap('tandem.js') }
const ms = (v) => `${v.toFixed(1)} ms`

/**
 * runPage's `around`: traces the browser from just before consent until the page is in the
 * viewer, and gives the longest task on the customer's main thread from consent to the snapshot
 * sent (`consentTask`, ms); with TANDEM_PROFILE, prints what ran in it.
 */
function consentToSent (browser) {
  let tracing = false
  let cdp = null
  return {
    async before (customer) {
      if (tracing) await browser.stopTracing().catch(() => {})
      if (profiling) {
        cdp = await customer.context().newCDPSession(customer)
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
        await cdp.send('Profiler.start')
      }
      await browser.startTracing(undefined, { categories: TRACE_CATEGORIES })
      tracing = true
    },
    async after (customer) {
      // The snapshot is marked sent before the viewer can paint it.
      await customer.waitForFunction(() => performance.getEntriesByName('tandem:snapshot').length > 0, null, { timeout: 5000 }).catch(() => {})
      tracing = false
      const tasks = mainThreadTasks(JSON.parse((await browser.stopTracing()).toString()), 'tandem:consent', 'tandem:snapshot')
      const profile = cdp && (await cdp.send('Profiler.stop')).profile
      await cdp?.detach()
      cdp = null
      const longest = tasks?.longest
      if (profile && longest) {
        const { self, bySdkFunction } = profileBetween(profile, longest.ts, longest.end, maps)
        const lines = [`longest task from consent to the snapshot sent: ${ms(longest.ms)} (${tasks.count} tasks, ${tasks.over50} of 50 ms or more)`,
          '  trace events in it:', ...longest.parts.slice(0, 8).map(([what, t]) => `    ${ms(t).padStart(10)}  ${what}`),
          '  self time (CPU profile):', ...self.map(([what, t]) => `    ${ms(t).padStart(10)}  ${what}`),
          '  under the SDK\'s functions:', ...bySdkFunction.map(([what, t]) => `    ${ms(t).padStart(10)}  ${what}`)]
        process.stderr.write(`\n${lines.join('\n')}\n`)
      }
      return { consentTask: longest ? longest.ms : null }
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fidelity-'))
// The server reads TANDEM_* settings and refuses unknown ones: not the harness's own.
const harness = ['TANDEM_BIN', 'TANDEM_CORPUS', 'TANDEM_CORPUS_ONLY', 'TANDEM_FIDELITY_KEEP', 'TANDEM_PROFILE', 'TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE']
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
  const around = consentToSent(browser)
  let rows = []
  for (let round = 1; round <= runs; round++) {
    rows = []
    for (const page of corpusPages()) {
      process.stderr.write(`round ${round} of ${runs}: ${page.name}… `)
      try {
        rows.push(await runPage({ browser, api, token, license, corpus, page, around, keepAll: !!process.env.TANDEM_FIDELITY_KEEP }))
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
  console.log('snapshot: the full snapshot as JSON; sent: bytes the customer sent from consent to first paint;')
  console.log('task to sent: the longest task on the customer\'s main thread from consent to the snapshot sent (traced);')
  console.log('long task after: the longest task of 50 ms or more a PerformanceObserver saw from consent to the end of the steps.')
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
