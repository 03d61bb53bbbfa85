// The agent viewer tells the agent what is happening, in words (issue 14): every phase, each way
// a session ends and the next steps from there, the toolbar's states, the agent's own laser and
// drawings, drawings cleared on navigation, the customer's pointer, full screen, fit / 100% and
// keyboard shortcuts; screenshots of each state at 1280 and 400 px, with axe-core.
//
//   TANDEM_API=… TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> TANDEM_EXPIRED_TOKEN=<expired JWT> \
//     node --test sdk-js/e2e/viewer-states.test.mjs
//
// The Rust test api/tests/it/e2e.rs starts the server and runs this file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lookAt, oneServer } from './helpers.mjs'

const { env, api, token, browser, customerPage, sessionByCode, viewerPage, readCode, activeSession } = oneServer(['TANDEM_EXPIRED_TOKEN'])

/** No raw identifier of the server's on the agent's screen. */
async function noRawCodes (agent) {
  const text = await agent.evaluate(() => document.body.innerText)
  assert.doesNotMatch(text, /\w+_(ended|timeout)\b|#[0-9a-f]{6}\b|\(\d{4}\)|demo: true/i, text)
}

async function looked (page, name, options) {
  const findings = await lookAt(page, name, options)
  await page.setViewportSize({ width: 1280, height: 800 })
  assert.deepEqual(findings, [], `axe on ${name}`)
}

/** Where the mirror shows the customer's point (x, y) of their viewport, in the agent's page. */
async function onMirror (agent, x, y) {
  return agent.evaluate(([x, y]) => {
    const frame = document.querySelector('#screen iframe')
    const f = frame.getBoundingClientRect()
    const scale = Number(document.querySelector('.replayer-wrapper').dataset.scale || 1)
    return { x: f.left + (frame.clientLeft + x) * scale, y: f.top + (frame.clientTop + y) * scale }
  }, [x, y])
}

test('waiting for consent: a spinner, Cancel, tools off; declined is told apart from ended', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const agent = await viewerPage(session.id)
  await agent.waitForSelector('#status:has-text("Waiting for the customer to accept")')
  await agent.locator('#state .t-spinner').waitFor()
  await agent.locator('#state #cancel').waitFor()
  // The toolbar shows, but nothing in it works before the customer accepts.
  assert.equal(await agent.locator('#tools').isVisible(), true)
  assert.equal(await agent.locator('button[data-tool="laser"]').isDisabled(), true)
  assert.equal(await agent.locator('#control').isDisabled(), true)
  await looked(agent, 'viewer-waiting')

  await customer.click('#tandem-consent button:has-text("Decline")', { timeout: 10_000 })
  await agent.waitForSelector('#status:has-text("Customer declined")', { timeout: 10_000 })
  const declined = await agent.textContent('#state-title')
  assert.match(declined, /declined/)
  await noRawCodes(agent)
  await looked(agent, 'viewer-declined')

  // The customer ending an active session reads differently.
  const other = await activeSession()
  await other.customer.click('#tandem-banner button')
  await other.agent.waitForSelector('#status:has-text("Session ended by the customer")', { timeout: 10_000 })
  const ended = await other.agent.textContent('#state-title')
  assert.match(ended, /customer ended the session/)
  assert.notEqual(ended, declined)
  await noRawCodes(other.agent)
  await looked(other.agent, 'viewer-customer-ended')
})

test('Cancel while waiting ends the request', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const agent = await viewerPage(session.id)
  await agent.click('#state #cancel', { timeout: 10_000 })
  await agent.waitForSelector('#state-title:has-text("cancelled")', { timeout: 10_000 })
  await noRawCodes(agent)
})

test('active: tools work, connection quality, own laser and drawings, pointer hidden until it moves', async () => {
  const { customer, agent } = await activeSession()
  await agent.waitForSelector('#status:has-text("Connected")')
  assert.equal(await agent.locator('#state').isVisible(), false)
  await agent.locator('button[data-tool="laser"]:not([disabled])').waitFor({ timeout: 10_000 })
  // The connection's quality in a word, the round trip in its accessible name.
  const quality = agent.locator('#latency[aria-label*="ms round trip"]')
  await quality.waitFor({ timeout: 10_000 })
  assert.match(await quality.textContent(), /^(Good|Fair|Poor)$/)
  // The customer's pointer: not parked at the top-left before its first position.
  await agent.waitForTimeout(300)
  assert.equal(await agent.locator('#screen .replayer-mouse').isVisible(), false)
  await customer.mouse.move(200, 150)
  await customer.mouse.move(260, 190, { steps: 5 })
  await agent.locator('#screen .replayer-mouse').waitFor({ state: 'visible', timeout: 10_000 })
  // Colours are named swatches.
  const swatches = agent.locator('#colours .swatch')
  assert.ok(await swatches.count() >= 2)
  assert.equal(await swatches.first().getAttribute('aria-label'), 'Indigo')
  await noRawCodes(agent)
  await looked(agent, 'viewer-active')

  // The agent's laser, in their colour, here and on the customer's page.
  await swatches.nth(1).click()
  const colour = await swatches.nth(1).getAttribute('data-colour')
  await agent.click('[data-tool="laser"]')
  const from = await onMirror(agent, 100, 100)
  await agent.mouse.move(from.x, from.y)
  await agent.mouse.move(from.x + 200, from.y + 60, { steps: 12 })
  await agent.waitForFunction(() => (document.getElementById('agent-laser')?.getAttribute('points') ?? '').split(' ').length >= 3,
    null, { timeout: 5_000 })
  assert.equal(await agent.locator('#agent-laser').getAttribute('stroke'), colour)
  await customer.waitForFunction(() => (document.getElementById('tandem-laser')?.getAttribute('points') ?? '').split(' ').length >= 3,
    null, { timeout: 10_000 })
  assert.equal(await customer.locator('#tandem-laser').getAttribute('stroke'), colour)
  await looked(agent, 'viewer-laser')
  await agent.waitForFunction(() => !document.getElementById('agent-laser')?.getAttribute('points'), null, { timeout: 5_000 })

  // A drawing, on both sides; the customer moves to another page and it goes on both.
  await agent.click('[data-tool="drawing"]')
  await agent.mouse.move(from.x, from.y)
  await agent.mouse.down()
  await agent.mouse.move(from.x + 150, from.y + 80, { steps: 10 })
  await agent.mouse.up()
  await customer.locator('#tandem-drawing polyline').waitFor({ timeout: 10_000 })
  assert.equal(await agent.locator('#ink polyline[data-id]').count(), 1)
  await looked(agent, 'viewer-drawing')
  // A single-page app's navigation (no page load).
  await customer.evaluate(() => history.pushState({}, '', '?spa=2'))
  await customer.waitForFunction(() => document.querySelectorAll('#tandem-drawing polyline').length === 0, null, { timeout: 10_000 })
  await agent.waitForFunction(() => document.querySelectorAll('#ink polyline[data-id]').length === 0, null, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})

test('the control affordance: off, requested, declined, on', async () => {
  const { customer, agent } = await activeSession()
  const control = agent.locator('#control')
  await agent.waitForSelector('#control[data-state="off"]:not([disabled])', { timeout: 10_000 })
  assert.equal(await agent.locator('[data-tool="control"]').count(), 0, 'one control affordance, not a tool besides')
  await control.click()
  await agent.waitForSelector('#control[data-state="requested"]:has-text("Waiting for the customer")', { timeout: 10_000 })
  assert.equal(await control.isDisabled(), true)
  await looked(agent, 'viewer-control-requested')
  await customer.click('#tandem-control-request button:has-text("Decline")', { timeout: 10_000 })
  await agent.waitForSelector('#control[data-state="rejected"]:has-text("declined")', { timeout: 10_000 })
  await control.click()
  await customer.click('#tandem-control-request button:has-text("Allow")', { timeout: 10_000 })
  await agent.waitForSelector('#control[data-state="on"][aria-pressed="true"]:has-text("Stop control")', { timeout: 10_000 })
  await looked(agent, 'viewer-control-on')
  await control.click()
  await agent.waitForSelector('#control[data-state="off"]:has-text("Request control")', { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})

test('full screen, fit / 100%, keyboard shortcuts (not while typing), notices fade', async () => {
  const { customer, agent } = await activeSession()
  await agent.locator('button[data-tool="laser"]:not([disabled])').waitFor({ timeout: 10_000 })
  await agent.click('#fullscreen')
  await agent.waitForFunction(() => document.fullscreenElement?.id === 'stage', null, { timeout: 5_000 })
  await agent.locator('#exit-fullscreen').waitFor({ state: 'visible' })
  await agent.click('#exit-fullscreen')
  await agent.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 5_000 })

  await agent.setViewportSize({ width: 400, height: 800 })
  // In a helpdesk's sidebar every tool is in sight: the toolbar wraps, it does not scroll.
  const tools = await agent.evaluate(() => {
    const bar = document.getElementById('tools')
    const outside = Array.from(bar.querySelectorAll('button'))
      .filter((b) => b.offsetParent !== null)
      .filter((b) => { const r = b.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth })
    return { overflow: bar.scrollWidth - bar.clientWidth, outside: outside.map((b) => b.textContent) }
  })
  assert.deepEqual(tools, { overflow: 0, outside: [] }, 'the tools at 400 px')
  const scale = () => agent.evaluate(() => Number(document.querySelector('.replayer-wrapper').dataset.scale))
  assert.ok(await scale() < 1, 'fitted to a narrow window')
  await agent.click('#fit')
  assert.equal(await agent.getAttribute('#fit', 'data-mode'), 'actual')
  assert.equal(await scale(), 1)
  await looked(agent, 'viewer-100')
  await agent.setViewportSize({ width: 400, height: 800 })
  await agent.keyboard.press('z')
  assert.equal(await agent.getAttribute('#fit', 'data-mode'), 'fit')
  assert.ok(await scale() < 1)
  await agent.setViewportSize({ width: 1280, height: 800 })

  await agent.locator('body').click({ position: { x: 5, y: 5 } })
  await agent.keyboard.press('l')
  await agent.waitForSelector('button[data-tool="laser"][aria-pressed="true"]')
  await agent.keyboard.press('d')
  await agent.waitForSelector('button[data-tool="drawing"][aria-pressed="true"]')
  await agent.keyboard.press('2')
  await agent.waitForSelector('#colours .swatch:nth-child(2)[aria-pressed="true"]')
  // Typing in a field is typing, not a shortcut.
  await agent.fill('#nav-url', '')
  await agent.type('#nav-url', 'lp')
  assert.equal(await agent.getAttribute('button[data-tool="drawing"]', 'aria-pressed'), 'true')
  await agent.locator('body').click({ position: { x: 5, y: 5 } })
  await agent.keyboard.press('?')
  await agent.locator('#help').waitFor({ state: 'visible' })
  assert.match(await agent.textContent('#help'), /Laser/)
  await looked(agent, 'viewer-shortcuts')
  await agent.keyboard.press('Escape')
  await agent.locator('#help').waitFor({ state: 'hidden' })

  // A notice says its piece and goes.
  await agent.fill('#nav-url', 'https://elsewhere.example/')
  await agent.click('#nav-go')
  await agent.waitForSelector('#notice:has-text("refused")', { timeout: 10_000 })
  await agent.waitForFunction(() => document.getElementById('notice').textContent === '', null, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})

test('the end page offers the next steps, and they work', async () => {
  const { customer, agent } = await activeSession()
  await agent.click('#end')
  await agent.waitForSelector('#state-title:has-text("You ended the session")', { timeout: 10_000 })
  await noRawCodes(agent)
  await looked(agent, 'viewer-agent-ended')
  assert.equal(await agent.locator('#end').isVisible(), false)
  // With a token (not the console's cookie): another code, or the session's history.
  const [history] = await Promise.all([agent.waitForEvent('popup'), agent.click('#state #view-history')])
  await history.waitForSelector('#status:has-text("Session history")', { timeout: 10_000 })
  await agent.click('#state #another-code')
  await agent.waitForURL(/\/code\?/)
  await agent.locator('#code').waitFor()
  await customer.context().close()
})

test('end_action=code says what happened to the last session', async () => {
  const { page: customer } = await customerPage()
  const code = await readCode(customer)
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/code?token=${encodeURIComponent(token)}&end_action=code`)
  await looked(agent, 'code')
  await agent.fill('#code', code)
  await agent.click('#open')
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await customer.evaluate(() => window.tandem.end())
  await agent.waitForURL(/\/code\?/, { timeout: 10_000 })
  await agent.waitForSelector('#last-session:has-text("customer ended the session")')
  await looked(agent, 'code-after-session')
})

test('/code says when the sign-in has expired or is not valid', async () => {
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/code?token=${encodeURIComponent(env.TANDEM_EXPIRED_TOKEN)}`)
  await agent.waitForSelector('#code-error:has-text("expired")', { timeout: 10_000 })
  await agent.fill('#code', '123456')
  await agent.click('#open')
  await agent.waitForSelector('#code-error:has-text("expired")')
  assert.equal(await agent.locator('text=No session has that code').count(), 0)
  await looked(agent, 'code-expired')
  await agent.goto(`${api}/code?token=not-a-jwt`)
  await agent.waitForSelector('#code-error:has-text("not valid")', { timeout: 10_000 })
})

test('redacted regions show as a labelled placeholder of the same size', async () => {
  const { page: customer } = await customerPage()
  await customer.evaluate(() => {
    const box = document.createElement('input')
    box.className = 'account-secret'
    box.id = 'secret-box'
    box.value = 'the customer\'s secret'
    box.style.cssText = 'display:block;width:320px;height:40px;margin:16px'
    document.body.prepend(box)
  })
  const session = await sessionByCode(await readCode(customer))
  const agent = await viewerPage(session.id)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const screen = agent.frameLocator('#screen iframe')
  await screen.locator('#headline').waitFor({ timeout: 15_000 })
  const box = screen.locator('.account-secret')
  assert.equal(await box.getAttribute('data-tandem-image'), 'redacted')
  assert.equal(await box.getAttribute('title'), 'Hidden by privacy settings')
  const size = await box.evaluate((el) => [el.offsetWidth, el.offsetHeight])
  const theirs = await customer.locator('#secret-box').evaluate((el) => [el.offsetWidth, el.offsetHeight])
  assert.deepEqual(size, theirs)
  await looked(agent, 'viewer-redacted')
  await customer.evaluate(() => window.tandem.end())
})
