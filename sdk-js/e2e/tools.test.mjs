// The agent's tools end to end in real Chromium: pointer, laser and drawing shown on the
// customer's page, remote control with consent (clicks, typing, selects, redacted fields,
// submits), and navigation. Every action goes through the viewer's own UI, the server and the
// web SDK on the customer's page.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… TANDEM_SUBMIT_TOKEN=… TANDEM_SUBMIT_LICENSE=… \
//     node --test sdk-js/e2e/tools.test.mjs
//
// The second account lets agents submit forms; the first does not. Both redact
// `.account-secret`. Run by api/tests/it/e2e.rs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { oneServer, sides } from './helpers.mjs'

const plain = oneServer(['TANDEM_SUBMIT_TOKEN', 'TANDEM_SUBMIT_LICENSE'])
const { env, api, browser } = plain
const submitting = sides({
  browser, customerApi: api, agentApi: api, token: env?.TANDEM_SUBMIT_TOKEN, license: env?.TANDEM_SUBMIT_LICENSE
})

/** A form at the top of the demo page, with what the page saw of it in `window.__seen`. */
const FORM = `
<form id="order" action="/demo">
  <label><input type="checkbox" id="agree"> I agree</label>
  <input id="city" name="city" autocomplete="off">
  <input id="secret-field" class="account-secret" autocomplete="off">
  <select id="size"><option value="s">Small</option><option value="m">Medium</option><option value="l">Large</option></select>
  <button id="place" type="submit">Place order</button>
  <a id="help-link" href="#help">Help</a>
  <button id="count" type="button">Count</button>
</form>`

async function withForm (page) {
  await page.evaluate((html) => {
    document.body.insertAdjacentHTML('afterbegin', html)
    window.__seen = { submits: [], clicks: 0 }
    addEventListener('submit', (e) => {
      window.__seen.submits.push(e.defaultPrevented ? 'blocked' : 'sent')
      e.preventDefault()
    })
    document.getElementById('count').addEventListener('click', () => { window.__seen.clicks += 1 })
  }, FORM)
}

/** A session with the form on the customer's page, watched by an agent in the viewer. */
async function session (side = plain) {
  const { page: customer } = await side.customerPage()
  await withForm(customer)
  const s = await side.sessionByCode(await side.readCode(customer))
  const agent = await side.viewerPage(s.id)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const screen = agent.frameLocator('#screen iframe')
  await screen.locator('#count').waitFor({ timeout: 15_000 })
  await agent.waitForSelector('#tools:not([hidden])')
  return { customer, agent, screen, session: s }
}

/** Where, in the agent's page, the mirror shows the customer's `selector` (once it does). */
async function mirrorPoint (agent, selector) {
  const handle = await agent.waitForFunction((sel) => {
    const frame = document.querySelector('#screen iframe')
    const el = frame?.contentDocument?.querySelector(sel)
    if (!el) return null
    const r = el.getBoundingClientRect()
    const f = frame.getBoundingClientRect()
    const scale = Number(document.querySelector('.replayer-wrapper').dataset.scale || 1)
    return {
      x: f.left + (frame.clientLeft + r.left + r.width / 2) * scale,
      y: f.top + (frame.clientTop + r.top + r.height / 2) * scale
    }
  }, selector, { timeout: 10_000 })
  return handle.jsonValue()
}

async function agentClick (agent, selector) {
  const { x, y } = await mirrorPoint(agent, selector)
  await agent.mouse.click(x, y)
}

/** The agent asks for control and the customer allows it. */
async function takeControl (customer, agent) {
  await agent.click('#control:has-text("Request control")')
  await customer.click('#tandem-control-request button:has-text("Allow")', { timeout: 10_000 })
  await agent.waitForSelector('#control:has-text("Stop control")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner:has-text("has control")')
}

const seen = (customer) => customer.evaluate(() => window.__seen)

test('the laser, the agent\'s pointer and drawings show on the customer\'s page; clear removes them', async () => {
  const { customer, agent } = await session()
  await agent.click('[data-tool="laser"]')
  const from = await mirrorPoint(agent, '#city')
  await agent.mouse.move(from.x, from.y)
  await agent.mouse.move(from.x + 200, from.y + 60, { steps: 12 })
  await customer.waitForFunction(() => {
    const points = document.getElementById('tandem-laser')?.getAttribute('points') ?? ''
    return points.split(' ').length >= 3
  }, null, { timeout: 10_000 })
  // The customer sees whose pointer it is.
  const label = await customer.locator('#tandem-agent-pointer').textContent()
  assert.equal(label, await customer.evaluate(() => window.tandem.session.agent.name))
  // The trail fades away by itself.
  await customer.waitForFunction(() => !document.getElementById('tandem-laser')?.getAttribute('points'),
    null, { timeout: 5_000 })

  await agent.click('[data-tool="drawing"]')
  const colour = await agent.$eval('#colours [aria-pressed="true"]', (el) => el.dataset.colour)
  await agent.mouse.move(from.x, from.y)
  await agent.mouse.down()
  await agent.mouse.move(from.x + 150, from.y + 80, { steps: 10 })
  await agent.mouse.up()
  const stroke = customer.locator('#tandem-drawing polyline')
  await stroke.waitFor({ timeout: 10_000 })
  assert.equal(await stroke.getAttribute('stroke'), colour)
  assert.ok((await stroke.getAttribute('points')).split(' ').length >= 5)
  assert.equal(await agent.locator('#ink polyline[data-id]').count(), 1, 'the agent sees their drawing too')
  // The overlay is the SDK's own: never recorded back to the agent.
  assert.equal(await agent.frameLocator('#screen iframe').locator('#tandem-overlay').count(), 0)

  await agent.click('#clear')
  await customer.waitForFunction(() => document.querySelectorAll('#tandem-drawing polyline').length === 0,
    null, { timeout: 10_000 })
  assert.equal(await agent.locator('#ink polyline[data-id]').count(), 0)
  await customer.evaluate(() => window.tandem.end())
})

test('remote control: refused before consent, then clicks, typing and selects act on the real page', async () => {
  const { customer, agent, screen } = await session()
  // Without consent, a click in the mirror does nothing on the customer's page.
  await agentClick(agent, '#agree')
  await agentClick(agent, '#count')
  await agent.waitForTimeout(500)
  assert.equal(await customer.isChecked('#agree'), false)
  assert.equal((await seen(customer)).clicks, 0)

  await takeControl(customer, agent)
  await agentClick(agent, '#agree')
  await customer.waitForFunction(() => document.getElementById('agree').checked, null, { timeout: 10_000 })
  await agentClick(agent, '#count')
  await customer.waitForFunction(() => window.__seen.clicks === 1, null, { timeout: 10_000 })

  await agentClick(agent, '#city')
  await agent.keyboard.type('Paris')
  await agent.keyboard.press('Backspace')
  await customer.waitForFunction(() => document.getElementById('city').value === 'Pari', null, { timeout: 10_000 })
  // What the customer's page now shows comes back into the mirror.
  await agent.waitForFunction(() =>
    document.querySelector('#screen iframe').contentDocument.getElementById('city').value === 'Pari',
  null, { timeout: 10_000 })

  await agentClick(agent, '#size')
  await agent.selectOption('#choose', 'l')
  await customer.waitForFunction(() => document.getElementById('size').value === 'l', null, { timeout: 10_000 })

  // A redacted field can be neither read nor typed into (the mirror has an empty box with
  // its class, and no id).
  await agentClick(agent, '#order .account-secret')
  await agent.keyboard.type('intrusion')
  await agent.waitForSelector('#notice:has-text("private")', { timeout: 10_000 })
  assert.equal(await customer.inputValue('#secret-field'), '')

  // Links are followed.
  await agentClick(agent, '#help-link')
  await customer.waitForFunction(() => location.hash === '#help', null, { timeout: 10_000 })

  // Submitting is the customer's call unless the account allows agents to.
  await agentClick(agent, '#place')
  await agent.waitForSelector('#notice:has-text("submit")', { timeout: 10_000 })
  await agentClick(agent, '#city')
  await agent.keyboard.press('Enter')
  await agent.waitForTimeout(500)
  assert.deepEqual((await seen(customer)).submits, [])
  await customer.click('#place')
  assert.deepEqual((await seen(customer)).submits, ['sent'], 'the customer can still submit')

  // The customer takes control back: the next click does nothing.
  await customer.click('#tandem-banner button:has-text("Stop control")')
  await agent.waitForSelector('#control:has-text("Request control")', { timeout: 10_000 })
  await agentClick(agent, '#count')
  await agent.waitForTimeout(500)
  assert.equal((await seen(customer)).clicks, 1)
  assert.equal(await screen.locator('#agree').isChecked(), true)
  await customer.evaluate(() => window.tandem.end())
})

test('an account that allows it lets the agent submit forms, and take control unasked', async () => {
  const { customer, agent } = await session(submitting)
  // This account does not ask the customer: control is on at once, and the banner says so.
  await agent.click('#control:has-text("Request control")')
  await agent.waitForSelector('#control:has-text("Stop control")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner:has-text("has control")')
  assert.equal(await customer.locator('#tandem-control-request').count(), 0)
  await agentClick(agent, '#place')
  await customer.waitForFunction(() => window.__seen.submits.length === 1, null, { timeout: 10_000 })
  assert.deepEqual((await seen(customer)).submits, ['sent'])
  await customer.evaluate(() => window.tandem.end())
})

test('the customer declining control leaves the agent watching', async () => {
  const { customer, agent } = await session()
  await agent.click('#control:has-text("Request control")')
  await customer.click('#tandem-control-request button:has-text("Decline")', { timeout: 10_000 })
  await agent.waitForSelector('#control:has-text("declined")', { timeout: 10_000 })
  const s = await plain.sessionByCode((await customer.evaluate(() => window.tandem.session)).id)
  assert.equal(s.remote_control, 'rejected')

  // Full-device mode follows the same states; a web page answers that it cannot.
  await customer.evaluate(() => {
    window.tandem.addEventListener('full_device.unsupported', () => { window.__unsupported = true })
  })
  const res = await fetch(`${api}/api/1/sessions/${s.id}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${env.TANDEM_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ full_device: 'requested' })
  })
  assert.equal(res.status, 200)
  await customer.waitForFunction(() => window.__unsupported === true, null, { timeout: 10_000 })
  await agent.waitForFunction(async (id) => {
    const token = new URLSearchParams(location.search).get('token')
    const r = await fetch(`/api/1/sessions/${id}`, { headers: { Authorization: `Bearer ${token}` } })
    return (await r.json()).full_device === 'rejected'
  }, s.id, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})

test('navigation: a URL on the site, back and forward; another site is refused', async () => {
  const { customer, agent, screen } = await session()
  const pageName = () => customer.textContent('#page-name')
  // Another site: refused on the customer's side, without even asking them.
  await agent.fill('#nav-url', 'https://elsewhere.example/')
  await agent.click('#nav-go')
  await agent.waitForSelector('#notice:has-text("refused")', { timeout: 10_000 })
  assert.equal(await customer.locator('#tandem-confirm').count(), 0)
  assert.equal(await pageName(), 'Page 1')

  // A relative URL: without control the customer confirms it.
  const next = new URL(customer.url())
  next.searchParams.set('page', '2')
  await agent.fill('#nav-url', `${next.pathname}${next.search}`)
  await agent.click('#nav-go')
  await customer.click('#tandem-confirm button:has-text("Yes")', { timeout: 10_000 })
  await customer.waitForURL(/page=2/, { timeout: 10_000 })
  await screen.locator('#page-name', { hasText: 'Page 2' }).waitFor({ timeout: 15_000 })
  // With control, back and forward need no confirmation.
  await takeControl(customer, agent)
  await agent.click('#nav-back')
  await customer.waitForURL((u) => !u.search.includes('page=2'), { timeout: 10_000 })
  await screen.locator('#page-name', { hasText: 'Page 1' }).waitFor({ timeout: 15_000 })
  await agent.click('#nav-forward')
  await customer.waitForURL(/page=2/, { timeout: 10_000 })
  await screen.locator('#page-name', { hasText: 'Page 2' }).waitFor({ timeout: 15_000 })
  assert.match(await agent.textContent('#status'), /Connected/)
  await customer.evaluate(() => window.tandem.end())
})
