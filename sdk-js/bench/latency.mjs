// End-to-end latency in Chromium, customer page → agent viewer, on loopback: a DOM mutation on
// the customer's page until the viewer's mirror shows it, and a pointer movement until the
// viewer's pointer is there. Prints p50/p95; asserts nothing.
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
  await customer.evaluate(() => window.tandem.end())
} finally {
  await browser.close()
}
