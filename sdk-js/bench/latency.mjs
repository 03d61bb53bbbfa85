// End-to-end latency in Chromium on loopback: joining (the customer's Allow until the viewer
// paints the page, step by step, an agent opening a live session until its first paint, and one
// opening it once nobody watches, when the page takes a fresh snapshot), a
// DOM mutation on the customer's page until the viewer's mirror shows it, a pointer movement
// until the viewer's pointer is there, and an agent's click in the viewer (remote control on)
// until the click handler runs on the customer's page. Prints p50/p95 and writes every sample to
// target/bench/latency.json (LATENCY_REPORT names it otherwise); asserts nothing.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… node sdk-js/bench/latency.mjs [samples] [joins]
//   (or LATENCY_SAMPLES / LATENCY_JOINS)
import { chromium } from 'playwright-core'
import { Report, spread } from './report.mjs'

const { TANDEM_API: api, TANDEM_TOKEN: token, TANDEM_LICENSE: license } = process.env
const samples = Number(process.argv[2] ?? process.env.LATENCY_SAMPLES ?? 200)
const joins = Number(process.argv[3] ?? process.env.LATENCY_JOINS ?? Math.max(3, Math.min(20, Math.round(samples / 10))))
if (!(samples >= 3 && joins >= 3)) throw new Error('samples and joins must be at least 3')
const report = new Report(process.env.LATENCY_REPORT ?? 'latency')
report.config('samples', samples)
report.config('joins', joins)
/**
 * Joins after which an agent also opens the session once nobody watches it (each waits out the
 * SDK's 5 s grace): three, or one in three at small sizes.
 */
const UNWATCHED_JOINS = Math.min(3, Math.ceil(joins / 3))
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function stats (values) {
  const v = [...values].sort((a, b) => a - b)
  const at = (p) => v[Math.min(v.length - 1, Math.round((v.length - 1) * p))]
  const n = (x) => Math.round(x)
  return `p50 ${n(at(0.5))} ms, p95 ${n(at(0.95))} ms, max ${n(v[v.length - 1])} ms (${v.length} samples)`
}

/** Each `tandem:` User Timing mark on a page (sdk-js/packages/core/src/timing.ts), as epoch ms. */
const marks = (page) => page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark')
  .filter((m) => m.name.startsWith('tandem:'))
  .map((m) => [m.name.slice(7), performance.timeOrigin + m.startTime])))

/**
 * A customer on the demo page with a session code, and an agent whose viewer waits for them:
 * both pages, and the session.
 */
async function pendingSession () {
  const customer = await (await browser.newContext()).newPage()
  await customer.goto(`${api}/demo?license=${encodeURIComponent(license)}`)
  await customer.waitForFunction(() => window.tandem !== undefined)
  await customer.click('#get-code')
  const code = (await customer.textContent('#tandem-code-value')).replace(/\s/g, '')
  const session = await (await fetch(`${api}/api/1/sessions/${code}`, { headers: { Authorization: `Bearer ${token}` } })).json()
  const agent = await (await browser.newContext()).newPage()
  await agent.goto(`${api}/session/${session.id}?token=${encodeURIComponent(token)}`)
  // The viewer has joined the session and waits for the customer's answer.
  await customer.waitForSelector('#tandem-consent button:has-text("Allow")')
  await sleep(300)
  return { customer, agent, session }
}

/** An agent opens the session's viewer: the page, and its first paint in ms from navigation start. */
async function viewerOpens (sessionId) {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${api}/session/${sessionId}?token=${encodeURIComponent(token)}`)
  await page.waitForFunction(() => performance.getEntriesByName('tandem:first-paint').length > 0, null, { timeout: 20_000 })
  const firstPaint = await page.evaluate(() => performance.getEntriesByName('tandem:first-paint')[0].startTime)
  return { page, firstPaint }
}

/** The steps of one join, in ms from the customer's Allow. */
const JOIN_STEPS = [
  ['consent_to_active', 'consent → session active (the PUT answered)'],
  ['active_to_stream_open', 'active → the page\'s stream open'],
  ['stream_open_to_snapshot_sent', 'stream open → snapshot handed to the socket'],
  ['snapshot_sent_to_first_paint', 'snapshot sent → first paint in the viewer']
]

/**
 * The steps of an agent opening a live session, by the viewer's marks (viewer.ts, boot.ts), in
 * ms from the step before; the first from navigation start.
 */
const OPEN_STEPS = [
  ['viewer-boot', 'navigation → viewer-boot.js runs (the join starts)'],
  ['viewer-script', 'viewer.js loaded, parsed and run'],
  ['viewer-joined', 'joined (the PUT answered and read)'],
  ['viewer-tokens', 'stream token'],
  ['viewer-stream-open', 'stream open'],
  ['viewer-recording', 'first recording frame (the relay\'s replay)'],
  ['viewer-snapshot', 'snapshot decompressed'],
  ['first-paint', 'snapshot rebuilt, frame painted']
]

/** Joins: the customer allows, and the time until the viewer paints the page, step by step. */
async function measureJoins () {
  const steps = Object.fromEntries(JOIN_STEPS.map(([k]) => [k, []]))
  const totals = []
  const late = []
  const unwatched = []
  const open = Object.fromEntries(OPEN_STEPS.map(([k]) => [k, []]))
  const longTasks = []
  for (let i = 0; i < joins; i++) {
    const { customer, agent, session } = await pendingSession()
    await customer.click('#tandem-consent button:has-text("Allow")')
    await agent.waitForFunction(() => performance.getEntriesByName('tandem:first-paint').length > 0, null, { timeout: 20_000 })
    const c = await marks(customer)
    const a = await marks(agent)
    const sent = Math.max(c.snapshot, c['stream-open'])
    const parts = {
      consent_to_active: c.active - c.consent,
      active_to_stream_open: c['stream-open'] - c.active,
      stream_open_to_snapshot_sent: sent - c['stream-open'],
      snapshot_sent_to_first_paint: a['first-paint'] - sent
    }
    for (const [k, v] of Object.entries(parts)) {
      steps[k].push(v)
      report.add(`join.${k}`, 'ms', v)
    }
    totals.push(a['first-paint'] - c.consent)
    report.add('join.total', 'ms', a['first-paint'] - c.consent)
    // A second agent opens the live session: the replay comes from the relay's cache.
    const context = await browser.newContext()
    // The main thread's long tasks (parsing the bundle, rebuilding the page) from the start.
    await context.addInitScript(() => {
      window.__longTasks = []
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push([Math.round(e.startTime), Math.round(e.duration)])
      }).observe({ type: 'longtask', buffered: true })
    })
    const second = await context.newPage()
    await second.goto(`${api}/session/${session.id}?token=${encodeURIComponent(token)}`)
    await second.waitForFunction(() => performance.getEntriesByName('tandem:first-paint').length > 0, null, { timeout: 20_000 })
    const at = await second.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark')
      .filter((m) => m.name.startsWith('tandem:')).map((m) => [m.name.slice(7), m.startTime])))
    const opened = at['first-paint']
    late.push(opened)
    report.add('join.agent_opens_live_session', 'ms', opened)
    let before = 0
    for (const [k] of OPEN_STEPS) {
      if (!(k in at)) continue
      open[k].push(at[k] - before)
      report.add(`join.open.${k}`, 'ms', at[k] - before)
      before = at[k]
    }
    longTasks.push(await second.evaluate(() => window.__longTasks.filter(([start]) => start < performance.getEntriesByName('tandem:first-paint')[0].startTime)))
    // (An SDK from before capture.ts records all along: nothing to measure there.)
    if (i < UNWATCHED_JOINS && await customer.evaluate(() => 'recording' in window.tandem)) {
      // Both agents leave; the page stops recording (capture.ts); an agent opens the session
      // again: the page takes a fresh snapshot for it.
      for (const p of [agent, second]) await p.context().close()
      await customer.waitForFunction(() => window.tandem.recording === false, null, { timeout: 20_000 })
      const { page: third, firstPaint: fresh } = await viewerOpens(session.id)
      unwatched.push(fresh)
      report.add('join.agent_opens_unwatched_session', 'ms', fresh)
      await third.context().close()
    }
    await customer.evaluate(() => window.tandem.end())
    for (const p of [customer, agent, second]) if (!p.isClosed()) await p.context().close()
  }
  console.log(`join: customer's Allow → first paint in the viewer: ${stats(totals)}`)
  for (const [k, label] of JOIN_STEPS) console.log(`  ${label}: median ${spread(steps[k]).median.toFixed(0)} ms`)
  console.log(`join: an agent opens a live session → first paint (navigation start to the frame): ${stats(late)}`)
  for (const [k, label] of OPEN_STEPS) {
    if (open[k].length) console.log(`  ${label}: median ${spread(open[k]).median.toFixed(0)} ms`)
  }
  console.log(`  long tasks before first paint ([start, duration] ms), each open: ${longTasks.map((t) => JSON.stringify(t)).join(' ')}`)
  if (unwatched.length) console.log(`join: an agent opens a live session nobody watched (a fresh snapshot) → first paint: ${stats(unwatched)}`)
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
try {
  await measureJoins()
  const { customer, agent } = await pendingSession()
  await customer.click('#tandem-consent button:has-text("Allow")')
  await agent.frameLocator('#screen iframe').locator('#message').waitFor()
  await sleep(500)

  // The viewer notes when each marker text and each pointer position first shows.
  await agent.evaluate(() => {
    window.__seen = {}
    const doc = document.querySelector('#screen iframe').contentDocument
    new MutationObserver(() => {
      const text = doc.getElementById('message')?.textContent
      if (text && !(text in window.__seen)) window.__seen[text] = Date.now()
    }).observe(doc, { subtree: true, childList: true, characterData: true })
    const mouse = document.querySelector('.replayer-mouse')
    new MutationObserver(() => {
      const key = `x${parseInt(mouse.style.left, 10)}`
      if (!(key in window.__seen)) window.__seen[key] = Date.now()
    }).observe(mouse, { attributes: true, attributeFilter: ['style'] })
  })

  const sent = {}
  for (let i = 0; i < samples; i++) {
    const marker = `m-${i}`
    sent[marker] = await customer.evaluate((m) => {
      const t = Date.now()
      document.getElementById('message').textContent = m
      return t
    }, marker)
    await sleep(25)
  }
  for (let i = 0; i < samples; i++) {
    const x = 100 + i * 3
    sent[`x${x}`] = Date.now()
    await customer.mouse.move(x, 300)
    await sleep(60)
  }
  await sleep(1500)
  const seen = await agent.evaluate(() => window.__seen)
  const dom = []
  const pointer = []
  for (const [key, t0] of Object.entries(sent)) {
    if (!(key in seen)) continue
    ;(key.startsWith('m-') ? dom : pointer).push(seen[key] - t0)
  }
  for (const v of dom) report.add('dom_to_viewer', 'ms', v)
  for (const v of pointer) report.add('pointer_to_viewer', 'ms', v)
  console.log(`customer DOM mutation → shown in the viewer: ${stats(dom)}`)
  console.log(`customer pointer move → viewer pointer: ${stats(pointer)} ` +
    `(${samples - pointer.length} positions coalesced by sampling)`)

  // Remote control: the agent asks, the customer allows, and the agent clicks a button.
  await customer.evaluate(() => {
    document.body.insertAdjacentHTML('afterbegin', '<button id="bench-click">Click me</button>')
    window.__clicks = []
    document.getElementById('bench-click').addEventListener('click', () => window.__clicks.push(Date.now()))
  })
  await agent.click('#control')
  await customer.click('#tandem-control-request button:has-text("Allow")')
  await agent.waitForSelector('#control:has-text("Stop control")')
  const target = await agent.waitForFunction(() => {
    const frame = document.querySelector('#screen iframe')
    const el = frame.contentDocument.getElementById('bench-click')
    if (!el) return null
    const r = el.getBoundingClientRect()
    const f = frame.getBoundingClientRect()
    const scale = Number(document.querySelector('.replayer-wrapper').dataset.scale || 1)
    return { x: f.left + (frame.clientLeft + r.left + r.width / 2) * scale, y: f.top + (frame.clientTop + r.top + r.height / 2) * scale }
  }).then((h) => h.jsonValue())
  await agent.evaluate(() => {
    window.__downs = []
    addEventListener('mousedown', () => window.__downs.push(Date.now()), true)
  })
  const clicks = Math.min(samples, 100)
  for (let i = 0; i < clicks; i++) {
    await agent.mouse.click(target.x, target.y)
    await sleep(100)
  }
  await sleep(1000)
  const downs = await agent.evaluate(() => window.__downs)
  const handled = await customer.evaluate(() => window.__clicks)
  const click = handled.map((t, i) => t - downs[i])
  for (const v of click) report.add('agent_click_to_handler', 'ms', v)
  console.log(`agent click in the viewer → handler on the customer's page: ${stats(click)}` +
    (handled.length === downs.length ? '' : ` (${downs.length - handled.length} clicks lost)`))
  await customer.evaluate(() => window.tandem.end())
  report.write()
} finally {
  await browser.close()
}
