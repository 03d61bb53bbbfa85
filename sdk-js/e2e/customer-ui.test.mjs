// The customer's side in real Chromium: the web SDK's built-in UI (consent and remote-control
// dialogs, the indicator, the note when sharing ends) driven from the keyboard, in English,
// French and German, and the server's own pages, each looked at (screenshots at 1280 and
// 400 px in e2e/artifacts) and checked with axe-core. The agent acts through the REST API, so
// this suite does not depend on the viewer.
//
//   TANDEM_API=… TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> node --test sdk-js/e2e/customer-ui.test.mjs
//
// The Rust test api/tests/it/e2e.rs starts the server and runs this file.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lookAt, oneServer } from './helpers.mjs'

const { api, token, license, browser, sessionByCode, readCode } = oneServer()

/** The agent's side: a partial update of the session, as the agent. */
async function agentPut (id, body) {
  const res = await fetch(`${api}/api/1/sessions/${id}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

async function sessionNow (id) {
  const res = await fetch(`${api}/api/1/sessions/${id}`, { headers: { Authorization: `Bearer ${token}` } })
  return res.json()
}

/** Waits until the agent's view of the session satisfies `check`. */
async function until (id, check) {
  for (let i = 0; i < 100; i++) {
    const s = await sessionNow(id)
    if (check(s)) return s
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail(`session ${id} never reached the expected state: ${JSON.stringify(await sessionNow(id))}`)
}

/** The demo page in a fresh context (`locale` for the browser's language, `query` for the page's). */
async function demo ({ locale = 'en-GB', query = '', reducedMotion = 'no-preference' } = {}) {
  const page = await (await browser().newContext({ locale, reducedMotion })).newPage()
  await page.goto(`${api}/demo?license=${encodeURIComponent(license)}${query}`)
  await page.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
  return page
}

/** A customer with a code, joined by the agent: the consent dialog is open. */
async function asked (options) {
  const customer = await demo(options)
  const session = await sessionByCode(await readCode(customer))
  await agentPut(session.id, { agent: 'me' })
  await customer.waitForSelector('#tandem-consent', { timeout: 10_000 })
  return { customer, session }
}

/** Waits for the UI's entrance animations to finish, so that screenshots show it at rest. */
async function settle (page) {
  await page.evaluate(() => Promise.all([
    ...document.getAnimations(),
    ...(document.getElementById('tandem-ui')?.shadowRoot?.getAnimations() ?? [])
  ].filter((a) => a.effect?.getTiming().iterations !== Infinity)
    .map((a) => a.finished.catch(() => {}))))
}

/** What a person sees: `lookAt` once the UI is at rest. */
async function look (page, name) {
  await settle(page)
  return lookAt(page, name)
}

/** The text of what has focus, inside the UI's shadow root or out of it. */
const focused = (page) => page.evaluate(() => {
  const inside = document.getElementById('tandem-ui')?.shadowRoot?.activeElement
  const el = inside ?? document.activeElement
  return `${el?.id ? '#' + el.id : el?.tagName.toLowerCase()}:${el?.textContent?.trim()}`
})

/** Waits until a dialog that just opened has put the focus where it says (it does so as it shows). */
async function whenFocused (page, expected) {
  const deadline = Date.now() + 5_000
  let now
  while ((now = await focused(page)) !== expected) {
    assert.ok(Date.now() < deadline, `the focus stayed on ${now}, not ${expected}`)
    await page.waitForTimeout(25)
  }
}

test('the server\'s landing page says what it is and links on; people get a page for a wrong address, API clients JSON', async () => {
  const page = await (await browser().newContext()).newPage()
  const res = await page.goto(`${api}/`)
  assert.equal(res.status(), 200)
  for (const href of ['/dashboard', '/code', '/api/1/openapi.json']) {
    assert.equal(await page.locator(`a[href="${href}"]`).count(), 1, href)
  }
  assert.equal(await page.getAttribute('link[rel="icon"]', 'href'), '/favicon.svg')
  assert.deepEqual(await look(page, 'landing'), [])

  const missing = await page.goto(`${api}/no-such-page`)
  assert.equal(missing.status(), 404)
  await page.waitForSelector('h1:has-text("no page at this address")')
  assert.deepEqual(await look(page, 'not-found'), [])

  const json = await fetch(`${api}/api/1/no-such-route`, { headers: { Accept: 'text/html' } })
  assert.equal(json.status, 404)
  assert.equal((await json.json()).id, 'not_found')
  const icon = await fetch(`${api}/favicon.ico`)
  assert.equal(icon.headers.get('content-type'), 'image/svg+xml')
})

test('the demo page shows no raw values, says what is missing without a license, and shows the code', async () => {
  const bare = await (await browser().newContext()).newPage()
  await bare.goto(`${api}/demo`)
  await bare.waitForSelector('#status:has-text("license key")')
  assert.equal(await bare.isDisabled('#get-code'), true)
  assert.deepEqual(await look(bare, 'demo-no-license'), [])

  const customer = await demo()
  await customer.waitForSelector('#status:has-text("Ready")')
  assert.doesNotMatch(await customer.textContent('body'), /demo: true|undefined|null/)
  assert.deepEqual(await look(customer, 'demo'), [])
  await readCode(customer)
  await customer.waitForSelector('#tandem-code:has-text("Your support code")')
  assert.deepEqual(await look(customer, 'customer-code'), [])

  // The UI's colours, spacing and type are the design system's tokens, as the server serves them.
  const tokens = await (await fetch(`${api}/design/tokens.css`)).text()
  const design = Object.fromEntries([...tokens.matchAll(/(--t-[\w-]+):\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]))
  const used = await customer.evaluate((names) => {
    const style = getComputedStyle(document.getElementById('tandem-ui'))
    return Object.fromEntries(names.map((n) => [n, style.getPropertyValue(n).trim()]).filter(([, v]) => v))
  }, Object.keys(design))
  assert.ok(Object.keys(used).length > 10)
  for (const [name, value] of Object.entries(used)) assert.equal(value, design[name], name)
})

test('consent from the keyboard: focus moves in and stays, Escape declines, and the customer is told', async () => {
  const { customer, session } = await asked()
  const dialog = customer.locator('#tandem-consent')
  assert.equal(await dialog.getAttribute('role'), 'dialog')
  assert.equal(await dialog.getAttribute('aria-modal'), 'true')
  // The dialog names the agent and the account, and says what is and is not shared.
  const text = await dialog.textContent()
  assert.match(text, / from test would like to see this page/)
  assert.match(text, /this tab of 127\.0\.0\.1/)
  assert.match(text, /Not your other tabs or apps\. Fields marked private stay hidden\./)
  assert.deepEqual(await look(customer, 'customer-consent'), [])

  assert.equal(await focused(customer), 'button:Allow')
  await customer.keyboard.press('Tab')
  assert.equal(await focused(customer), 'button:Decline')
  await customer.keyboard.press('Tab')
  assert.equal(await focused(customer), 'button:Allow')
  await customer.keyboard.press('Shift+Tab')
  assert.equal(await focused(customer), 'button:Decline')
  await customer.keyboard.press('Shift+Tab')
  await customer.keyboard.press('Shift+Tab')
  assert.equal(await focused(customer), 'button:Decline')

  await customer.keyboard.press('Escape')
  await customer.waitForSelector('#tandem-consent', { state: 'detached' })
  const ended = await until(session.id, (s) => s.state === 'ended')
  assert.equal(ended.ended_reason, 'device_ended')
  await customer.waitForSelector('#tandem-ended:has-text("Nothing was shared")')
  await customer.waitForSelector('#tandem-ended:has-text("You declined")')
  // Focus goes back to where it was: the button that asked for a code.
  assert.equal(await focused(customer), '#get-code:Get a support code')
  assert.deepEqual(await look(customer, 'customer-declined'), [])
})

test('Enter allows; remote control is asked and answered from the keyboard; the indicator stops control and sharing', async () => {
  const { customer, session } = await asked()
  await whenFocused(customer, 'button:Allow')
  await customer.keyboard.press('Enter')
  await customer.waitForSelector('#tandem-banner:has-text("is viewing this page")')
  await until(session.id, (s) => s.state === 'active')
  assert.equal(await customer.locator('#tandem-banner [role="status"]').count(), 1)
  assert.deepEqual(await look(customer, 'customer-indicator'), [])

  // Control: declined with Escape, then allowed with Enter.
  await agentPut(session.id, { remote_control: 'requested' })
  await customer.waitForSelector('#tandem-control-request', { timeout: 10_000 })
  assert.match(await customer.textContent('#tandem-control-request'), /would like to control this page.*click, scroll and type for you/)
  assert.deepEqual(await look(customer, 'customer-control'), [])
  await customer.keyboard.press('Tab')
  await customer.keyboard.press('Tab')
  assert.equal(await focused(customer), 'button:Allow')
  await customer.keyboard.press('Escape')
  await until(session.id, (s) => s.remote_control === 'rejected')
  await customer.waitForSelector('#tandem-control-request', { state: 'detached' })

  await agentPut(session.id, { remote_control: 'requested' })
  await customer.waitForSelector('#tandem-control-request', { timeout: 10_000 })
  await whenFocused(customer, 'button:Allow')
  await customer.keyboard.press('Enter')
  await until(session.id, (s) => s.remote_control === 'on')
  await customer.waitForSelector('#tandem-banner:has-text("has control of this page")')
  assert.deepEqual(await look(customer, 'customer-indicator-control'), [])

  // Stop control, from the keyboard.
  await customer.locator('#tandem-banner button:has-text("Stop control")').focus()
  await customer.keyboard.press('Enter')
  await until(session.id, (s) => s.remote_control === 'off')
  await customer.waitForSelector('#tandem-banner:has-text("is viewing this page")')

  // Stop sharing: the session ends, and the customer is told it did, until the note fades.
  await customer.locator('#tandem-banner button:has-text("Stop sharing")').focus()
  await customer.keyboard.press('Enter')
  const ended = await until(session.id, (s) => s.state === 'ended')
  assert.equal(ended.ended_reason, 'device_ended')
  await customer.waitForSelector('#tandem-ended strong:has-text("Sharing has ended")')
  await customer.waitForSelector('#tandem-ended:has-text("You stopped sharing")')
  assert.equal(await customer.locator('#tandem-banner').count(), 0)
  assert.equal(await customer.getAttribute('#tandem-ended', 'role'), 'status')
  assert.deepEqual(await look(customer, 'customer-ended'), [])
  await customer.waitForSelector('#tandem-ended', { state: 'detached', timeout: 15_000 })
})

test('when the agent ends the session the customer reads who ended it', async () => {
  const { customer, session } = await asked()
  await customer.click('#tandem-consent button:has-text("Allow")')
  await customer.waitForSelector('#tandem-banner')
  await agentPut(session.id, { state: 'ended' })
  await customer.waitForSelector('#tandem-ended:has-text("ended the session. They can no longer see this page.")', { timeout: 10_000 })
  await customer.locator('#tandem-ended button[aria-label="Dismiss"]').click()
  await customer.waitForSelector('#tandem-ended', { state: 'detached' })
})

test('the UI speaks French with locale: "fr", German by the browser\'s language (with reduced motion), and takes strings of the site\'s own', async () => {
  const fr = await asked({ query: '&locale=fr' })
  const text = await fr.customer.textContent('#tandem-consent')
  assert.match(text, /souhaite voir cette page/)
  assert.match(text, /Ni vos autres onglets, ni vos applications/)
  assert.equal(await fr.customer.getAttribute('#tandem-ui', 'lang'), 'fr')
  assert.deepEqual(await look(fr.customer, 'customer-consent-fr'), [])
  await fr.customer.click('#tandem-consent button:has-text("Autoriser")')
  await fr.customer.waitForSelector('#tandem-banner:has-text("voit cette page")')
  assert.equal(await fr.customer.locator('#tandem-banner button:has-text("Arrêter le partage")').count(), 1)
  assert.deepEqual(await look(fr.customer, 'customer-indicator-fr'), [])

  // German from the browser's language; nothing moves for a customer who asked for less motion.
  const de = await asked({ locale: 'de-DE', reducedMotion: 'reduce' })
  assert.match(await de.customer.textContent('#tandem-consent'), /möchte diese Seite sehen/)
  const animation = (page) => page.evaluate(() => getComputedStyle(document.getElementById('tandem-ui').shadowRoot.querySelector('.layer')).animationName)
  assert.equal(await animation(de.customer), 'none')
  assert.equal(await animation((await asked()).customer), 'fade')
  await de.customer.keyboard.press('Escape')
  await de.customer.waitForSelector('#tandem-ended:has-text("Sie haben abgelehnt")')

  // `messages` replaces single strings, on top of the language's.
  const own = await (await browser().newContext()).newPage()
  await own.goto(`${api}/demo`)
  const code = await own.evaluate(async ({ license }) => {
    window.tandem = await window.Tandem.start({ license, locale: 'fr', messages: { allow: 'Oui, montrez-lui' } })
    return window.tandem.createSessionCode()
  }, { license })
  await own.waitForSelector('#tandem-code:has-text("Votre code d’assistance")')
  const session = await sessionByCode(code)
  await agentPut(session.id, { agent: 'me' })
  await own.waitForSelector('#tandem-consent button:has-text("Oui, montrez-lui")', { timeout: 10_000 })
  await own.waitForSelector('#tandem-consent button:has-text("Refuser")')
})

test('with disableBuiltInUI the SDK shows nothing and the site answers through events', async () => {
  const page = await (await browser().newContext()).newPage()
  await page.goto(`${api}/demo`)
  const code = await page.evaluate(async ({ license }) => {
    const tandem = await window.Tandem.start({ license, disableBuiltInUI: true })
    window.own = tandem
    tandem.addEventListener('consent.requested', () => { void tandem.consent(true) })
    return tandem.createSessionCode()
  }, { license })
  const session = await sessionByCode(code)
  await agentPut(session.id, { agent: 'me' })
  await until(session.id, (s) => s.state === 'active')
  assert.equal(await page.evaluate(() => document.getElementById('tandem-ui')), null)
})
