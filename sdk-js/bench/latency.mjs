// End-to-end latency in Chromium on loopback: a DOM mutation on the customer's page until the
// viewer's mirror shows it, a pointer movement until the viewer's pointer is there, and an agent's
// click in the viewer (remote control on) until the click handler runs on the customer's page.
// Prints p50/p95; asserts nothing.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… node sdk-js/bench/latency.mjs [samples]
import { chromium } from 'playwright-core'

const { TANDEM_API: api, TANDEM_TOKEN: token, TANDEM_LICENSE: license } = process.env
const samples = Number(process.argv[2] ?? 200)
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function stats (values) {
  const v = [...values].sort((a, b) => a - b)
  const at = (p) => v[Math.min(v.length - 1, Math.round((v.length - 1) * p))]
  return `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${v[v.length - 1]} ms (${v.length} samples)`
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS })
try {
  const customer = await (await browser.newContext()).newPage()
  await customer.goto(`${api}/demo?license=${encodeURIComponent(license)}`)
  await customer.waitForFunction(() => window.tandem !== undefined)
  await customer.click('#get-code')
  const code = (await customer.textContent('#tandem-code-value')).replace(/\s/g, '')
  const session = await (await fetch(`${api}/api/1/sessions/${code}`, { headers: { Authorization: `Bearer ${token}` } })).json()
  const agent = await (await browser.newContext()).newPage()
  await agent.goto(`${api}/session/${session.id}?token=${encodeURIComponent(token)}`)
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
  console.log(`agent click in the viewer → handler on the customer's page: ${stats(click)}` +
    (handled.length === downs.length ? '' : ` (${downs.length - handled.length} clicks lost)`))
  await customer.evaluate(() => window.tandem.end())
} finally {
  await browser.close()
}
