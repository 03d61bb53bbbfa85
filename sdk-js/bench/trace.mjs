// Records the co-browsing trace the density benchmark replays (bench/src/bin/realtime/cobrowse.rs):
// 30 seconds of a customer on a real page of the corpus (PostgreSQL's SELECT reference, whose
// snapshot is 290 KB of JSON, the size the benchmark has always modelled: reading with the
// pointer, scrolling, selecting text, hovering over links), recorded in Chromium with rrweb as
// the web SDK configures it. Writes the rrweb events, as rrweb emitted them, to
// bench/data/cobrowse-trace.json.gz (in git, so every run replays the same trace).
//
//   make corpus sdk && node sdk-js/bench/trace.mjs
import { createServer } from 'node:http'
import { readFileSync, writeFileSync, statSync } from 'node:fs'
import { join, resolve, extname } from 'node:path'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const corpus = process.env.TANDEM_CORPUS ?? new URL('../../tests/corpus/pages', import.meta.url).pathname
const root = resolve(corpus, 'debian/usr/share/doc/postgresql-doc-15/html')
const bundle = new URL('../dist/bench-recorder.js', import.meta.url).pathname
const out = new URL('../../bench/data/cobrowse-trace.json.gz', import.meta.url).pathname
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.png': 'image/png', '.svg': 'image/svg+xml' }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const server = createServer((req, res) => {
  try {
    const file = join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname))
    if (!file.startsWith(root) || !statSync(file).isFile()) throw new Error('not a file')
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' })
    res.end(readFileSync(file))
  } catch {
    res.writeHead(404)
    res.end()
  }
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.route((url) => url.hostname !== '127.0.0.1', (r) => r.abort())
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${server.address().port}/sql-select.html`)
  await page.addScriptTag({ path: bundle })
  await page.evaluate(() => {
    window.__events = []
    window.benchRecord(true, (e) => window.__events.push(e))
  })
  const started = Date.now()
  // Reads: the pointer wanders over the text, the page scrolls down a screen at a time.
  for (let i = 0; i < 6; i++) {
    for (let x = 200; x < 900; x += 35) {
      await page.mouse.move(x, 300 + 120 * Math.sin(x / 90 + i), { steps: 2 })
      await sleep(40)
    }
    await page.mouse.wheel(0, 500)
    await sleep(400)
  }
  // Selects a paragraph.
  await page.mouse.wheel(0, -3000)
  await sleep(300)
  await page.mouse.move(300, 420)
  await page.mouse.down()
  await page.mouse.move(700, 470, { steps: 12 })
  await page.mouse.up()
  await sleep(500)
  // Hovers over the links and scrolls back and forth.
  for (let i = 0; i < 4; i++) {
    for (let y = 200; y < 700; y += 25) {
      await page.mouse.move(250 + 40 * i, y)
      await sleep(60)
    }
    await page.mouse.wheel(0, i % 2 ? -700 : 700)
    await sleep(300)
  }
  while (Date.now() - started < 30_000) {
    await page.mouse.move(400 + 200 * Math.random(), 300 + 200 * Math.random(), { steps: 3 })
    await sleep(120)
  }
  const events = await page.evaluate(() => window.__events)
  const json = JSON.stringify(events)
  writeFileSync(out, gzipSync(json, { level: 9 }))
  const kinds = {}
  for (const e of events) kinds[e.type] = (kinds[e.type] ?? 0) + 1
  console.log(`trace: ${events.length} events over ${((events.at(-1).timestamp - events[0].timestamp) / 1000).toFixed(1)} s, ` +
    `${(json.length / 1024).toFixed(0)} KiB of JSON (by rrweb type: ${JSON.stringify(kinds)}) → ${out}`)
} finally {
  await browser.close()
  server.close()
}
