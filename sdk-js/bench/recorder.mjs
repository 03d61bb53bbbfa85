// Recorder cost in Chromium on a 10,000-node page: the full snapshot's time on the main thread,
// the longest task while recording starts, and the snapshot's size, for the recorder as the web
// SDK configures it (redaction selectors, password masking, pointer sampling) and for stock rrweb
// (@rrweb/record with its defaults). Prints medians of several runs; asserts nothing.
//
//   node sdk-js/bench/recorder.mjs [runs]     (after `make sdk`)
import { chromium } from 'playwright-core'

const runs = Number(process.argv[2] ?? 9)
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const bundle = new URL('../dist/bench-recorder.js', import.meta.url).pathname

/** About 10,000 DOM nodes (elements, text, attributes not counted): nested sections of paragraphs, inputs and links with attributes. */
function page () {
  let html = '<!doctype html><html><head><title>10k</title></head><body>'
  for (let s = 0; s < 196; s++) {
    html += `<section class="s${s}" data-i="${s}"><h2>Section ${s}</h2><ul>`
    for (let i = 0; i < 12; i++) html += `<li><a href="/p/${s}/${i}" title="item ${i}">Item ${s}.${i}</a></li>`
    html += '</ul><form><input name="q" value="x"><input type="password" value="secret"></form>' +
      `<p>Paragraph ${s} with <b>bold</b> and <i>italic</i> text.</p></section>`
  }
  return html + '</body></html>'
}

function median (values) {
  const v = [...values].sort((a, b) => a - b)
  return v[Math.floor(v.length / 2)]
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
try {
  const results = { tandem: [], stock: [] }
  for (let r = 0; r < runs; r++) {
    // Alternate which goes first, so neither always gets the warmer browser.
    for (const variant of r % 2 ? ['stock', 'tandem'] : ['tandem', 'stock']) {
      const tab = await browser.newPage()
      await tab.setContent(page())
      await tab.addScriptTag({ path: bundle })
      results[variant].push(await tab.evaluate((tuned) => new Promise((resolve) => {
        let nodes = 0
        const walk = document.createTreeWalker(document, NodeFilter.SHOW_ALL)
        while (walk.nextNode()) nodes++
        let longest = 0
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) longest = Math.max(longest, e.duration)
        }).observe({ type: 'longtask', buffered: false })
        let bytes = 0
        const t0 = performance.now()
        const stop = window.benchRecord(tuned, (e) => { bytes += JSON.stringify(e).length })
        const snapshot = performance.now() - t0
        setTimeout(() => { stop?.(); resolve({ nodes, snapshot, longest: Math.max(longest, snapshot), bytes }) }, 300)
      }), variant === 'tandem'))
      await tab.close()
    }
  }
  for (const [variant, rs] of Object.entries(results)) {
    console.log(`recorder (${variant === 'tandem' ? 'as the web SDK runs it' : 'stock @rrweb/record'}) on ` +
      `${rs[0].nodes} nodes: full snapshot ${median(rs.map((x) => x.snapshot)).toFixed(1)} ms, ` +
      `longest main-thread task ${median(rs.map((x) => x.longest)).toFixed(1)} ms, ` +
      `${(median(rs.map((x) => x.bytes)) / 1024).toFixed(0)} KiB of events (median of ${runs})`)
  }
} finally {
  await browser.close()
}
