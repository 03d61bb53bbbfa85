// The recorder's cost on the customer's main thread in Chromium, Tandem's (packages/web/src/recorder,
// its full snapshot in slices) against stock @rrweb/record (one task), both with the web SDK's
// options, in the same run on the same pages of about 10,000, 50,000 and 150,000 nodes:
// - the longest main-thread task while recording starts (the longest slice, and what a
//   PerformanceObserver saw of long tasks: it reports tasks of 50 ms and more);
// - the snapshot's CPU on the main thread: the sum of the slices (stock: its one task), and the
//   renderer's TaskDuration (CDP Performance.getMetrics) from the start to the FullSnapshot event;
// - µs per node; the ratios ours/stock.
// The pages are served over http from 127.0.0.1, as a customer's pages are served: their links
// resolve against an http base (on about:blank, both recorders would resolve every link the slow
// way, through an anchor element).
// Several runs each (the order of the two alternates), medians and spread; writes
// target/bench/recorder.json (BENCH_NAME names it; --smoke: recorder-smoke.json). Asserts nothing.
//
//   node sdk-js/bench/recorder.mjs [runs]     (after `make sdk`; 3 runs by default)
//   node sdk-js/bench/recorder.mjs --smoke    (1 run on 1,000 nodes, for make test)
import { createServer } from 'node:http'
import { chromium } from 'playwright-core'
import { Report, spread } from './report.mjs'

const smoke = process.argv.includes('--smoke')
const runs = smoke ? 1 : Math.max(3, Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3))
const SIZES = smoke ? [['1k', 1_000]] : [['10k', 10_000], ['50k', 50_000], ['150k', 150_000]]
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const bundle = new URL('../dist/bench-recorder.js', import.meta.url).pathname

/**
 * About `nodes` DOM nodes (elements, text, comments; attributes not counted): sections of a
 * heading, a list of links with attributes, a paragraph, a form with a text and a password field.
 */
function page (nodes) {
  const sections = Math.max(1, Math.round(nodes / 58))
  let html = '<!doctype html><html><head><title>recorder bench</title><style>section { margin: 4px }</style></head><body>'
  for (let s = 0; s < sections; s++) {
    html += `<section class="s${s}" data-i="${s}"><h2>Section ${s}</h2><ul>`
    for (let i = 0; i < 12; i++) html += `<li><a href="/p/${s}/${i}" title="item ${i}">Item ${s}.${i}</a></li>`
    html += '</ul><form><input name="q" value="x"><input type="password" value="secret"></form>' +
      `<p>Paragraph ${s} with <b>bold</b> and <i>italic</i> text.</p></section>`
  }
  return html + '</body></html>'
}

/** The bench's pages, by path, served over http. */
const pages = new Map()
const server = createServer((req, res) => {
  const html = pages.get(req.url)
  if (html === undefined) return res.writeHead(404).end()
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html)
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`

/** One recording in a fresh tab of the page at `path`: what the snapshot cost. */
async function measure (browser, path, variant) {
  const tab = await browser.newPage()
  try {
    await tab.goto(`${origin}${path}`)
    await tab.addScriptTag({ path: bundle })
    const cdp = await tab.context().newCDPSession(tab)
    await cdp.send('Performance.enable')
    // The page settles (layout, the first frames) before anything is measured.
    await tab.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)))
    const taskDuration = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value
    const before = await taskDuration()
    const run = await tab.evaluate(async (variant) => {
      let nodes = 0
      const walk = document.createTreeWalker(document, NodeFilter.SHOW_ALL)
      while (walk.nextNode()) nodes++
      const longtasks = []
      const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longtasks.push(e.duration) })
      observer.observe({ type: 'longtask' })
      let full = null
      // Started from a task of the page's own (a task run for the debugger's evaluate is not
      // reported as a long task).
      const { recording, sync, t0 } = await new Promise((resolve) => setTimeout(() => {
        const t0 = performance.now()
        const recording = window.benchRecord(variant, (e) => { if (e.type === 2) full = e })
        resolve({ recording, sync: performance.now() - t0, t0 })
      }, 0))
      await recording.done
      const elapsed = performance.now() - t0
      // Long tasks are reported after they end: a frame later at most.
      await new Promise((resolve) => setTimeout(resolve, 50))
      observer.disconnect()
      recording.stop()
      const cost = recording.cost()
      const slices = cost ? cost.slices : [sync]
      return {
        nodes,
        slices: slices.length,
        longestSlice: Math.max(...slices),
        longtask: Math.max(0, ...longtasks),
        cpu: slices.reduce((a, b) => a + b, 0),
        elapsed,
        bytes: full ? JSON.stringify(full).length : 0
      }
    }, variant)
    run.taskDuration = (await taskDuration() - before) * 1000
    return run
  } finally {
    await tab.close()
  }
}

const fmt = (s, digits = 1) => s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : '-'

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
const report = new Report(process.env.BENCH_NAME ?? (smoke ? 'recorder-smoke' : 'recorder'))
report.config('runs', runs)
report.config('sizes', SIZES.map(([, n]) => n))
report.config('slice_ms', 8)
try {
  for (const [label, size] of SIZES) {
    const path = `/${label}`
    pages.set(path, page(size))
    const results = { tandem: [], stock: [] }
    for (let r = 0; r < runs; r++) {
      for (const variant of r % 2 ? ['stock', 'tandem'] : ['tandem', 'stock']) results[variant].push(await measure(browser, path, variant))
    }
    const nodes = results.tandem[0].nodes
    report.config(`${label}.nodes`, nodes)
    for (const [peer, rs] of Object.entries(results)) {
      for (const x of rs) {
        report.add(`${label}.${peer}.longest_task`, 'ms', Math.max(x.longestSlice, x.longtask))
        report.add(`${label}.${peer}.longest_slice`, 'ms', x.longestSlice)
        report.add(`${label}.${peer}.longtask_observed`, 'ms', x.longtask)
        report.add(`${label}.${peer}.snapshot_cpu`, 'ms', x.cpu)
        report.add(`${label}.${peer}.task_duration`, 'ms', x.taskDuration)
        report.add(`${label}.${peer}.us_per_node`, 'us', x.cpu * 1000 / x.nodes)
        report.add(`${label}.${peer}.elapsed`, 'ms', x.elapsed)
        report.add(`${label}.${peer}.slices`, 'count', x.slices)
        report.add(`${label}.${peer}.snapshot_bytes`, 'bytes', x.bytes)
      }
    }
    for (let i = 0; i < runs; i++) {
      const [t, s] = [results.tandem[i], results.stock[i]]
      report.add(`${label}.longest_task.ratio`, 'x', Math.max(t.longestSlice, t.longtask) / Math.max(s.longestSlice, s.longtask))
      report.add(`${label}.snapshot_cpu.ratio`, 'x', t.cpu / s.cpu)
      report.add(`${label}.task_duration.ratio`, 'x', t.taskDuration / s.taskDuration)
    }
    const f = (name) => spread(report.figures[name]?.values ?? [])
    console.log(`recorder on ${nodes} nodes, median (min–max) of ${runs} run(s):`)
    for (const peer of ['tandem', 'stock']) {
      console.log(`  ${peer === 'tandem' ? 'tandem (sliced)' : 'stock rrweb    '}  longest task ${fmt(f(`${label}.${peer}.longest_task`))} ms` +
        ` (long tasks observed ${fmt(f(`${label}.${peer}.longtask_observed`))} ms), snapshot CPU ${fmt(f(`${label}.${peer}.snapshot_cpu`))} ms` +
        ` in ${fmt(f(`${label}.${peer}.slices`), 0)} slice(s), renderer TaskDuration ${fmt(f(`${label}.${peer}.task_duration`))} ms,` +
        ` ${fmt(f(`${label}.${peer}.us_per_node`), 2)} µs/node, sent after ${fmt(f(`${label}.${peer}.elapsed`))} ms, ` +
        `${(f(`${label}.${peer}.snapshot_bytes`).median / 1024).toFixed(0)} KiB`)
    }
    console.log(`  ours/stock: longest task ${fmt(f(`${label}.longest_task.ratio`), 3)}x, snapshot CPU ${fmt(f(`${label}.snapshot_cpu.ratio`), 3)}x,` +
      ` TaskDuration ${fmt(f(`${label}.task_duration.ratio`), 3)}x`)
  }
} finally {
  await browser.close()
  server.close()
}
report.write()
