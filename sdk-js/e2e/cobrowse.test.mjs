// End to end in real Chromium: a customer page with the Tandem web SDK and an agent in the
// viewer, in separate browser contexts, against a running Tandem server.
//
//   TANDEM_API=http://127.0.0.1:12345 TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> \
//     node --test sdk-js/e2e/cobrowse.test.mjs
//
// The Rust test api/tests/it/e2e.rs starts the server and runs this file.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'

const REQUIRED = ['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE']
const missing = REQUIRED.filter((name) => !process.env[name])
const { TANDEM_API: api, TANDEM_TOKEN: token, TANDEM_LICENSE: license } = process.env
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

let browser

before(async () => {
  if (missing.length > 0) return
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
})

after(async () => {
  await browser?.close()
})

/** A customer page with the SDK started, and every frame it sends on a socket. */
async function customerPage () {
  const page = await (await browser.newContext()).newPage()
  const sent = []
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(Buffer.from(f.payload))))
  await page.goto(`${api}/demo?license=${encodeURIComponent(license)}`)
  await page.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
  return { page, sent }
}

async function sessionByCode (code) {
  const res = await fetch(`${api}/api/1/sessions/${code}`, {
    headers: { Authorization: `Bearer ${token}` }
  })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

test('environment is configured', () => {
  assert.deepEqual(missing, [], `missing environment variables: ${missing.join(', ')}`)
})

test('code flow: consent, then the agent sees the page, its changes and its input', async () => {
  const { page: customer, sent } = await customerPage()
  await customer.click('#get-code')
  const shown = await customer.textContent('#tandem-code-value', { timeout: 10_000 })
  const code = shown.replace(/\s/g, '')
  assert.match(code, /^\d{6}$/)
  const session = await sessionByCode(code)

  const agent = await (await browser.newContext()).newPage()
  await agent.goto(`${api}/session/${session.id}?token=${encodeURIComponent(token)}`)
  await agent.waitForSelector('#status:has-text("Waiting for the customer")')

  // The customer is asked, and nothing is recorded before they say yes.
  await customer.click('#tandem-consent button:has-text("Allow")')
  await customer.waitForSelector('#tandem-banner')

  const screen = agent.frameLocator('#screen iframe')
  await screen.locator('#headline', { hasText: 'Your basket' }).waitFor({ timeout: 15_000 })
  // The SDK's own interface is not shown to the agent.
  assert.equal(await screen.locator('#tandem-banner').count(), 0)

  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'Changed by the customer'
  })
  await screen.locator('#message', { hasText: 'Changed by the customer' }).waitFor({ timeout: 10_000 })

  await customer.fill('#name', 'Ada Lovelace')
  await customer.fill('#password', 'canary-pw-7731')
  await agent.waitForFunction(() => {
    const doc = document.querySelector('#screen iframe')?.contentDocument
    return doc?.getElementById('name')?.value === 'Ada Lovelace'
  }, null, { timeout: 10_000 })
  const mirrored = await agent.evaluate(() => {
    const doc = document.querySelector('#screen iframe').contentDocument
    return doc.getElementById('password').value + doc.documentElement.outerHTML
  })
  assert.ok(!mirrored.includes('canary-pw-7731'), 'the password reached the viewer')
  const wire = Buffer.concat(sent)
  assert.ok(!wire.includes('canary-pw-7731'), 'the password left the browser')
  assert.ok(wire.includes('Ada Lovelace'), 'typed text is streamed')

  // The customer ends it; the agent sees why.
  await customer.click('#tandem-banner button')
  await agent.waitForSelector('#status:has-text("Session ended")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner', { state: 'detached' })
})
