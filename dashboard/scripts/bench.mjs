// The dashboard's first-load benchmark: the release `tandem` on a fresh SQLite database (its
// first start prints a sign-in link and an administrator token), 50 live sessions, and Chromium
// opening the console's Sessions page signed in. It prints, over 20 loads each, the time from
// navigation start to the session list on screen with an empty cache (cold) and with the app's
// files cached (warm), and the built JavaScript's size. A benchmark, not a test: it prints
// numbers and fails only when it cannot measure. Every load's time goes to
// target/bench/dashboard.json (BENCH_NAME to name it otherwise).
//
//   make bench-dashboard          (TANDEM_BIN=<path> to measure another build, RUNS=<loads>)
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { Report } from '../../sdk-js/bench/report.mjs'

const BIN = process.env.TANDEM_BIN
const RUNS = Number(process.env.RUNS ?? 20)
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
if (!BIN) throw new Error('set TANDEM_BIN to the tandem binary (make bench-dashboard does)')
if (!(RUNS >= 3)) throw new Error('RUNS must be at least 3 (loads per cache state)')
const report = new Report(process.env.BENCH_NAME ?? 'dashboard')
report.config('loads', RUNS)

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
})

/** This process's environment without the variable that names the binary (not a setting). */
function serverEnv () {
  const env = { ...process.env }
  delete env.TANDEM_BIN
  return env
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-dashboard-'))
const port = await freePort()
const api = `http://127.0.0.1:${port}`
const server = spawn(BIN, ['serve'], {
  env: { ...serverEnv(), TANDEM_LISTEN: `127.0.0.1:${port}`, TANDEM_DATABASE_URL: `sqlite://${join(dir, 't.db')}`, RUST_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit']
})
let out = ''
server.stdout.on('data', (d) => { out += d })
const stop = () => { server.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }) }
try {
  const deadline = Date.now() + 30_000
  const linkPattern = /(http\S+\/dashboard\/login\S*#token=\S+)/
  while (!linkPattern.test(out) || !/Administrator token[^\n]*\n(\S+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`the server printed no sign-in link:\n${out}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const link = out.match(linkPattern)[1]
  const jwt = out.match(/Administrator token[^\n]*\n(\S+)/)[1]
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${api}/api/1/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ custom_data: { user_id: `u-${i}` }, agent: 'me' })
    })
    if (res.status !== 201) throw new Error(`creating a session: ${res.status} ${await res.text()}`)
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await page.goto(link)
  // Signed in once the app has left the login page (the link's `next` names the code page).
  await page.waitForURL((url) => /^\/dashboard\/(sessions|code)$/.test(url.pathname), { timeout: 15_000 })
  const cdp = await context.newCDPSession(page)
  const load = async (cold) => {
    if (cold) await cdp.send('Network.clearBrowserCache')
    await page.goto(`${api}/dashboard/sessions`)
    await page.locator('table[aria-label="Sessions"] tbody tr').first().waitFor({ timeout: 15_000 })
    return page.evaluate(() => performance.now())
  }
  await cdp.send('Network.enable')
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b)
    const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
    return `p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, min ${s[0].toFixed(0)} ms (${s.length} loads)`
  }
  for (const cold of [true, false]) {
    await load(cold)
    const times = []
    for (let i = 0; i < RUNS; i++) times.push(await load(cold))
    for (const t of times) report.add(`sessions_page.${cold ? 'cold' : 'warm'}`, 'ms', t)
    console.log(`Sessions page, ${cold ? 'cold cache' : 'warm cache'}: navigation start to the list on screen: ${stats(times)}`)
  }
  await browser.close()
  const assets = new URL('../dist/assets/', import.meta.url)
  let js = 0
  for (const name of readdirSync(assets)) {
    if (name.endsWith('.js')) js += gzipSync(readFileSync(new URL(name, assets)), { level: 9 }).length
  }
  console.log(`Dashboard JavaScript: ${(js / 1024).toFixed(1)} KiB gzip`)
  report.add('javascript_gzip', 'bytes', js)
  report.write()
} finally {
  stop()
}
