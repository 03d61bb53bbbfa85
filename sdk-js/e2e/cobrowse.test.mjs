// End to end in real Chromium: a customer page with the Tandem web SDK and an agent in the
// viewer, in separate browser contexts, against a running Tandem server.
//
//   TANDEM_API=http://127.0.0.1:12345 TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> \
//     node --test sdk-js/e2e/cobrowse.test.mjs
//
// The Rust test api/tests/it/e2e.rs starts the server and runs this file.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { decode } from 'cbor-x'
import { fullSnapshots, lookAt, oneServer, recordings, wireText } from './helpers.mjs'

const { api, token, license, browser, customerPage, sessionByCode, viewerPage, readCode, activeSession } = oneServer()

test('code flow: consent, then the agent sees the page, its changes and its input', async () => {
  const { page: customer, sent } = await customerPage()
  const code = await readCode(customer)
  assert.match(code, /^\d{6}$/)
  const session = await sessionByCode(code)

  const agent = await (await browser().newContext()).newPage()
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
  const wire = wireText(sent)
  assert.ok(!wire.includes('canary-pw-7731'), 'the password left the browser')
  assert.ok(wire.includes('Ada Lovelace'), 'typed text is streamed')

  // The customer ends it; the agent sees why.
  await customer.click('#tandem-banner button')
  await agent.waitForSelector('#status:has-text("Session ended")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner', { state: 'detached' })
})

test('declining consent ends the session and the agent sees nothing of the page', async () => {
  const { page: customer, sent } = await customerPage()
  const code = await readCode(customer)
  const session = await sessionByCode(code)
  const agent = await viewerPage(session.id)
  await customer.click('#tandem-consent button:has-text("Decline")', { timeout: 10_000 })
  await agent.waitForSelector('#status:has-text("Customer declined")', { timeout: 10_000 })
  assert.equal(await agent.locator('#screen iframe').count(), 0, 'no page was replayed')
  assert.ok(!wireText(sent).includes('Your basket'), 'no page content left the browser')
})

test('the agent enters a code on /code and lands in the session', async () => {
  const { page: customer } = await customerPage()
  const code = await readCode(customer)
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/code?token=${encodeURIComponent(token)}`)
  await agent.fill('#code', code)
  await agent.click('#open')
  await agent.waitForURL(/\/session\/[^/?]+\?token=/, { timeout: 10_000 })
  await customer.waitForSelector('#tandem-consent', { timeout: 10_000 })
  // A wrong code says so and stays.
  const other = await (await browser().newContext()).newPage()
  await other.goto(`${api}/code?token=${encodeURIComponent(token)}`)
  await other.fill('#code', code === '000000' ? '000001' : '000000')
  await other.click('#open')
  await other.waitForSelector('#status:has-text("No session")', { timeout: 10_000 })
})

test('a script, handler or javascript: URL planted in the page never runs for the agent', async () => {
  const { customer, agent, screen } = await activeSession()
  await customer.evaluate(() => {
    const s = document.createElement('script')
    s.textContent = 'try { top.__planted = "script" } catch (e) {}'
    document.body.appendChild(s)
    const img = document.createElement('img')
    img.id = 'trap'
    img.setAttribute('src', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=')
    img.setAttribute('onload', 'top.__planted = "onload"')
    img.setAttribute('onerror', 'top.__planted = "onerror"')
    document.body.appendChild(img)
    const a = document.createElement('a')
    a.id = 'jslink'
    a.href = 'javascript:top.__planted="href"'
    a.textContent = 'link'
    document.body.appendChild(a)
    const meta = document.createElement('meta')
    meta.httpEquiv = 'refresh'
    meta.content = '0;url=javascript:top.__planted="meta"'
    document.head.appendChild(meta)
  })
  await screen.locator('#jslink').waitFor({ timeout: 10_000 })
  await agent.evaluate(() => {
    document.querySelector('#screen iframe').contentDocument.getElementById('jslink').click()
  })
  await agent.waitForTimeout(500)
  assert.equal(await agent.evaluate(() => window.__planted), undefined)
  assert.ok(await agent.url().includes('/session/'), 'the viewer did not navigate')
})

test('a second agent joining late sees the current page at once; an agent end reaches the customer', async () => {
  const { customer, screen } = await activeSession()
  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'Changed before the second agent came'
    window.tandem.addEventListener('session.ended', (e) => { window.__endedReason = e.detail.reason })
  })
  await screen.locator('#message', { hasText: 'before the second agent' }).waitFor({ timeout: 10_000 })
  const session = await customer.evaluate(() => window.tandem.session)
  const second = await viewerPage(session.id)
  const late = second.frameLocator('#screen iframe')
  await late.locator('#message', { hasText: 'before the second agent' }).waitFor({ timeout: 10_000 })

  await second.click('#end')
  await customer.waitForFunction(() => window.__endedReason !== undefined, null, { timeout: 10_000 })
  assert.equal(await customer.evaluate(() => window.__endedReason), 'agent_ended')
  await customer.waitForSelector('#tandem-banner', { state: 'detached' })
})

/** A viewer for the session, and every frame it receives on its sockets. */
async function watchingViewer (sessionId) {
  const agent = await (await browser().newContext()).newPage()
  const received = []
  agent.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(Buffer.from(f.payload))))
  await agent.goto(`${api}/session/${sessionId}?token=${encodeURIComponent(token)}`)
  return { agent, received, screen: agent.frameLocator('#screen iframe') }
}

test('the page records only while an agent watches it, and a later agent gets it fresh', async () => {
  // An active session that no agent's viewer watches: the agent joined over REST.
  const { page: customer, sent } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const joined = await fetch(`${api}/api/1/sessions/${session.id}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ agent: 'me' })
  })
  assert.equal(joined.status, 200, await joined.text())
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner')
  // The page changes and the customer moves about: none of it is recorded, nor sent.
  await customer.evaluate(() => { document.getElementById('message').textContent = 'Before anyone watched' })
  await customer.mouse.move(200, 200)
  await customer.mouse.move(300, 250)
  await customer.waitForTimeout(2_500)
  assert.equal(await customer.evaluate(() => window.tandem.session.state), 'active')
  assert.equal(await customer.evaluate(() => window.tandem.recording), false, 'the recorder runs')
  assert.deepEqual(recordings(sent), [], 'recording frames left a page nobody watches')

  // An agent comes: the page records, and the viewer paints it.
  const first = await watchingViewer(session.id)
  await first.screen.locator('#message', { hasText: 'Before anyone watched' }).waitFor({ timeout: 15_000 })
  assert.equal(await customer.evaluate(() => window.tandem.recording), true)
  assert.equal(fullSnapshots(sent), 1)
  // A second agent is served from the relay's replay: the page takes no snapshot for it.
  const second = await watchingViewer(session.id)
  await second.screen.locator('#message', { hasText: 'Before anyone watched' }).waitFor({ timeout: 15_000 })
  await customer.evaluate(() => { document.getElementById('message').textContent = 'Both watch' })
  for (const { screen } of [first, second]) await screen.locator('#message', { hasText: 'Both watch' }).waitFor({ timeout: 10_000 })
  assert.equal(fullSnapshots(sent), 1, 'the page was asked for a second snapshot')

  // Both leave: within the grace (5 s) the page stops recording, says so, and sends nothing more.
  for (const { agent } of [first, second]) await agent.context().close()
  const left = sent.length
  await customer.waitForFunction(() => window.tandem.recording === false, null, { timeout: 10_000 })
  // Its last events go first, then word to the server.
  const told = () => sent.findIndex((f, i) => i >= left && decode(f)?.event === 'recording-stopped')
  for (let i = 0; i < 20 && told() < 0; i++) await customer.waitForTimeout(100)
  assert.ok(told() >= 0, 'the server was not told')
  assert.deepEqual(recordings(sent.slice(told())), [], 'recording frames came after the word')
  const stopped = sent.length
  await customer.evaluate(() => { document.getElementById('message').textContent = 'After they left' })
  await customer.mouse.move(100, 120)
  await customer.waitForTimeout(1_000)
  assert.deepEqual(recordings(sent.slice(stopped)), [], 'recording frames left the page after the agents did')

  // A later agent gets a fresh snapshot of the page as it is, never the replay of before.
  const third = await watchingViewer(session.id)
  await third.screen.locator('#message', { hasText: 'After they left' }).waitFor({ timeout: 15_000 })
  assert.equal(fullSnapshots(sent), 2)
  assert.equal(fullSnapshots(third.received), 1, 'the viewer was sent the old page as well')
  await customer.evaluate(() => window.tandem.end())
  await third.agent.context().close()
  await customer.context().close()
})

for (const answer of ['Allow', 'Decline']) {
  test(`connect flow: the agent finds the device by custom data, the customer answers ${answer}`, async () => {
    const userId = `user-${answer}-${Date.now()}`
    const { page: customer } = await customerPage(userId)
    const agent = await (await browser().newContext()).newPage()
    await agent.goto(`${api}/connect?filter_user_id=${userId}&token=${encodeURIComponent(token)}`)
    await customer.click(`#tandem-consent button:has-text("${answer}")`, { timeout: 15_000 })
    await agent.waitForURL(/\/session\//)
    if (answer === 'Allow') {
      await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
      await customer.waitForSelector('#tandem-banner')
      // The session took the device's custom data: integrations find it by the same filter.
      const id = decodeURIComponent(new URL(agent.url()).pathname.split('/')[2])
      assert.equal((await sessionByCode(id)).custom_data.user_id, userId)
    } else {
      await agent.waitForSelector('#status:has-text("Customer declined")', { timeout: 10_000 })
      assert.equal(await agent.locator('#screen iframe').count(), 0)
    }
  })
}

test('connect flow: a customer who is not online is reported as such', async () => {
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/connect?filter_user_id=nobody-${Date.now()}&token=${encodeURIComponent(token)}`)
  await agent.waitForSelector('#status:has-text("No customer matches")', { timeout: 10_000 })
})

/** Secrets put into the demo page as soon as it is parsed, long before anything is recorded. */
const SECRETS = `
<div class="page-secret">canary-text-01
  <input id="in" value="canary-value-02">
  <textarea>canary-textarea-03</textarea>
  <select><option>a</option><option selected>canary-select-04</option></select>
  <div contenteditable="true">canary-editable-05</div>
  <span title="canary-attribute-06">x</span>
  <div id="shadow-host"></div>
  <iframe srcdoc="<p>canary-iframe-07</p>"></iframe>
</div>
<section class="account-secret">canary-account-08</section>
<input type="hidden" value="canary-hidden-09">
<input id="card" autocomplete="cc-number" value="canary-card-11">
<p data-tandem-redact>canary-marked-12</p>
<p id="public">Public text stays visible</p>`

/**
 * A customer whose demo page gets `prepare(arg)` run as soon as it is parsed (before the SDK
 * starts), with `query` added to its URL; an agent in the session, consent given.
 */
async function preparedSession (prepare, arg, query) {
  const context = await browser().newContext()
  await context.addInitScript(prepare, arg)
  const customer = await context.newPage()
  const sent = []
  customer.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(Buffer.from(f.payload))))
  await customer.goto(`${api}/demo?license=${encodeURIComponent(license)}&${query}`)
  await customer.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.createSessionCode())
  const session = await customer.evaluate(() => window.tandem.session)
  const agent = await viewerPage(session.id)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  return { customer, sent, agent, screen: agent.frameLocator('#screen iframe') }
}

test('redacted content never leaves the browser nor reaches the viewer', async () => {
  const { customer, sent, agent, screen } = await preparedSession((html) => {
    if (window !== window.top) return
    document.addEventListener('DOMContentLoaded', () => {
      document.body.insertAdjacentHTML('beforeend', html)
      document.getElementById('shadow-host').attachShadow({ mode: 'open' }).innerHTML =
        '<b>canary-shadow-13</b>'
      document.getElementById('password').value = 'canary-password-10'
    })
  }, SECRETS, 'redact=.page-secret')
  await screen.locator('#public', { hasText: 'Public text stays visible' }).waitFor({ timeout: 15_000 })
  // Typed while recording, and changes inside a redacted element, stay home as well.
  await customer.fill('#password', 'canary-password-14')
  await customer.evaluate(() => {
    document.querySelector('.page-secret textarea').value = 'canary-later-15'
    document.querySelector('.page-secret').append('canary-later-16')
    document.getElementById('public').textContent = 'Public text changed'
  })
  await screen.locator('#public', { hasText: 'Public text changed' }).waitFor({ timeout: 10_000 })

  const wire = wireText(sent).toString('latin1')
  const viewer = await agent.evaluate(() => {
    const doc = document.querySelector('#screen iframe').contentDocument
    const values = [...doc.querySelectorAll('input, textarea, select')].map((e) => e.value)
    return doc.documentElement.outerHTML + values.join(' ')
  })
  assert.ok(wire.includes('Public text changed'), 'the recording was captured')
  const leaks = []
  for (let n = 1; n <= 16; n++) {
    const tag = `-${String(n).padStart(2, '0')}`
    for (const [where, text] of [['wire', wire], ['viewer', viewer]]) {
      const found = text.match(new RegExp(`canary-[a-z]+${tag}`))
      if (found) leaks.push(`${found[0]} in the ${where}`)
    }
  }
  assert.deepEqual(leaks, [])
  await customer.evaluate(() => window.tandem.end())
})

test('a page that redacts everything shows only its unredacted parts', async () => {
  const { customer, sent, agent, screen } = await preparedSession(() => {
    if (window !== window.top) return
    document.addEventListener('DOMContentLoaded', () => {
      document.body.insertAdjacentHTML('beforeend', `
        <div class="shown"><p id="shown-text">Order 1234 is on its way</p>
          <input id="shown-input" value="visible-value">
          <span class="inner-secret">canary-nested-01</span></div>
        <p>canary-body-02</p>
        <span title="canary-attribute-03">x</span>
        <input value="canary-input-04">`)
      document.body.append('canary-loose-05')
    })
  }, undefined, 'redact=body&redact=.inner-secret&unredact=.shown')
  await screen.locator('#shown-text', { hasText: 'Order 1234 is on its way' }).waitFor({ timeout: 15_000 })
  assert.equal(await screen.locator('#shown-input').inputValue(), 'visible-value')
  // Changes outside the unredacted part stay home; inside it they are streamed.
  await customer.evaluate(() => {
    document.body.append('canary-later-06')
    document.getElementById('shown-text').textContent = 'Order 1234 was delivered'
  })
  await screen.locator('#shown-text', { hasText: 'Order 1234 was delivered' }).waitFor({ timeout: 10_000 })
  // The rest of the demo page (its headline) is redacted too.
  assert.equal(await screen.locator('#headline', { hasText: 'Your basket' }).count(), 0)
  const wire = wireText(sent).toString('latin1')
  const viewer = await agent.evaluate(() => {
    const doc = document.querySelector('#screen iframe').contentDocument
    return doc.documentElement.outerHTML + [...doc.querySelectorAll('input')].map((e) => e.value).join(' ')
  })
  assert.ok(!/Your basket/.test(wire), 'the redacted headline left the browser')
  const leaks = [...`${wire} ${viewer}`.matchAll(/canary-[a-z]+-\d\d/g)].map((m) => m[0])
  assert.deepEqual(leaks, [])
  await customer.evaluate(() => window.tandem.end())
})

test('the customer\'s pointer, and the :hover styles under it, show in the viewer', async () => {
  const { customer, agent, screen } = await activeSession()
  await customer.evaluate(() => {
    const style = document.createElement('style')
    style.textContent = '#hover-me { color: rgb(0, 0, 255) } #hover-me:hover { color: rgb(255, 0, 0) }'
    document.head.appendChild(style)
    const p = document.createElement('p')
    p.id = 'hover-me'
    p.textContent = 'Hover me'
    document.body.prepend(p)
  })
  const mirrored = screen.locator('#hover-me')
  await mirrored.waitFor({ timeout: 10_000 })
  const colour = () => mirrored.evaluate((el) => getComputedStyle(el).color)
  assert.equal(await colour(), 'rgb(0, 0, 255)')
  await customer.hover('#hover-me')
  await agent.waitForFunction(() => {
    const el = document.querySelector('#screen iframe')?.contentDocument?.getElementById('hover-me')
    return el && getComputedStyle(el).color === 'rgb(255, 0, 0)'
  }, null, { timeout: 10_000 })
  // The pointer is drawn where the customer's is.
  assert.equal(await agent.locator('#screen .replayer-mouse').count(), 1)
  await customer.mouse.move(1, 1)
  await agent.waitForFunction(() => {
    const el = document.querySelector('#screen iframe')?.contentDocument?.getElementById('hover-me')
    return el && getComputedStyle(el).color === 'rgb(0, 0, 255)'
  }, null, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})

test('the session carries on when the customer moves to another page of the site', async () => {
  const { customer, screen, agent } = await activeSession()
  await screen.locator('#page-name', { hasText: 'Page 1' }).waitFor({ timeout: 10_000 })
  await customer.click('#next')
  await customer.waitForURL(/page=2/)
  // No second consent: the banner is back on the new page and the agent follows.
  await customer.waitForSelector('#tandem-banner', { timeout: 10_000 })
  assert.equal(await customer.locator('#tandem-consent').count(), 0)
  await screen.locator('#page-name', { hasText: 'Page 2' }).waitFor({ timeout: 15_000 })
  assert.match(await agent.textContent('#status'), /Connected/)
  await customer.evaluate(() => window.tandem.end())

  // The history page lists both visits, in order, and the agent's time in the session.
  await agent.waitForSelector('#status:has-text("Session ended")', { timeout: 10_000 })
  const [history] = await Promise.all([agent.waitForEvent('popup'), agent.click('#history')])
  await history.waitForSelector('#status:has-text("Session history")', { timeout: 10_000 })
  const rows = (index) => history.$$eval(`section:nth-of-type(${index}) tbody tr`,
    (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)))
  const pages = await rows(1)
  assert.equal(pages.length, 2, JSON.stringify(pages))
  assert.doesNotMatch(pages[0][1], /page=2/)
  assert.match(pages[1][1], /page=2/)
  assert.ok(pages.every((p) => p[0] === 'Tandem demo shop' && /\d+ s/.test(p[3])), JSON.stringify(pages))
  const agents = await rows(2)
  assert.equal(agents.length, 1)
  assert.notEqual(agents[0][2], 'still here')
})

test('9-digit token flow: the token travels over a chat adapter and opens the session', async () => {
  const { page: customer } = await customerPage()
  const message = await customer.evaluate(async () => {
    let said = null
    const chat = {
      initializeAsync: async () => {},
      isAgentConnected: () => true,
      sendSessionToken: (m) => { said = m }
    }
    await window.tandem.startSession(chat)
    return said
  })
  const sid = /^\{start:(\d{9})\}$/.exec(message)?.[1]
  assert.ok(sid, `the chat got ${message}`)
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/agent?token=${encodeURIComponent(token)}#sid=${sid}`)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await customer.evaluate(() => window.tandem.end())
  await agent.waitForSelector('#status:has-text("Session ended")', { timeout: 10_000 })
})

test('the viewer fits the page, shows its latency, and can leave without ending', async () => {
  const { customer, agent } = await activeSession()
  await agent.setViewportSize({ width: 640, height: 420 })
  await agent.waitForFunction(() => {
    const scale = Number(document.querySelector('#screen .replayer-wrapper')?.dataset.scale)
    return scale > 0 && scale < 1
  }, null, { timeout: 10_000 })
  await agent.waitForSelector('#latency[aria-label*="ms"]', { timeout: 10_000 })
  await agent.click('#leave')
  await agent.waitForSelector('#status:has-text("You left")')
  // The customer's session goes on.
  await customer.waitForTimeout(500)
  const state = await customer.evaluate(() => window.tandem.session?.state)
  assert.equal(state, 'active')
  assert.equal(await customer.locator('#tandem-banner').count(), 1)
  await customer.evaluate(() => window.tandem.end())
})

test('the viewer fetches the customer\'s assets only from origins the account allows', async () => {
  const { customer, agent, screen } = await activeSession()
  // A request the page's policy refuses never leaves the browser; Chromium still reports it,
  // as failed with reason "csp". Anything else for a foreign host is a leak.
  const foreign = []
  const blocked = []
  agent.on('request', (r) => { if (!r.url().startsWith(api) && !r.url().startsWith('data:')) foreign.push(r.url()) })
  agent.on('requestfailed', (r) => {
    if (/^csp$|BLOCKED_BY_CSP/.test(r.failure()?.errorText ?? '')) blocked.push(r.url())
  })
  await customer.evaluate(() => {
    const img = document.createElement('img')
    img.id = 'tracker'
    img.src = 'http://127.0.0.2:9/pixel.png'
    document.body.appendChild(img)
    const style = document.createElement('div')
    style.id = 'bg'
    style.setAttribute('style', 'background-image: url(http://127.0.0.3:9/bg.png); width: 10px; height: 10px')
    document.body.appendChild(style)
  })
  await screen.locator('#tracker').waitFor({ state: 'attached', timeout: 10_000 })
  await screen.locator('#bg').waitFor({ state: 'attached', timeout: 10_000 })
  await agent.waitForTimeout(500)
  // The account allows http://127.0.0.2:9 (the Rust test sets it) and nothing else.
  assert.deepEqual(foreign.filter((u) => !blocked.includes(u)), ['http://127.0.0.2:9/pixel.png'])
  assert.deepEqual(blocked, ['http://127.0.0.3:9/bg.png'])
  await customer.evaluate(() => window.tandem.end())
})

test('end_action=code takes the agent back to the code page when the session ends', async () => {
  const { page: customer } = await customerPage()
  const code = await readCode(customer)
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/code?token=${encodeURIComponent(token)}&end_action=code`)
  await agent.fill('#code', code)
  await agent.click('#open')
  await agent.waitForURL(/\/session\/.*end_action=code/, { timeout: 10_000 })
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await customer.evaluate(() => window.tandem.end())
  await agent.waitForURL(/\/code\?/, { timeout: 10_000 })
  await agent.waitForSelector('#code')
})

test('sessions are found by custom data and opened by code; end_action=dashboard goes on to the dashboard', async () => {
  const userId = `dash-${Date.now()}`
  const { page: customer } = await customerPage(userId)
  const code = await readCode(customer)
  const session = await sessionByCode(code)
  // A session the page starts carries the page's custom data: agents find it by it.
  assert.equal(session.custom_data.user_id, userId)
  const found = await (await fetch(`${api}/api/1/sessions?filter_user_id=${userId}&agent=all`, {
    headers: { Authorization: `Bearer ${token}` }
  })).json()
  assert.deepEqual(found.map((s) => s.id), [session.id])
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/code?token=${encodeURIComponent(token)}&end_action=dashboard`)
  await agent.fill('#code', code)
  await agent.click('#open')
  await agent.waitForURL(new RegExp(`/session/${session.id}\\?.*end_action=dashboard`), { timeout: 10_000 })
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await agent.click('#end')
  // The dashboard signs in with its own cookie: the agent's token does not follow into its URL.
  await agent.waitForURL((url) => url.pathname.startsWith('/dashboard') && !url.search.includes('token='), { timeout: 10_000 })
})

/**
 * A helpdesk page on another origin that embeds the viewer with `token_source=postMessage` and
 * answers its `init` with `trust` and the agent's token, sent only to the server's origin.
 */
const HOST_PAGE = `<!doctype html><title>Helpdesk</title><p id="host">Helpdesk</p>
<iframe id="embed" style="width:900px;height:700px"></iframe>
<script>
  const q = new URLSearchParams(location.search)
  const api = new URL(q.get('src')).origin
  window.__messages = []
  window.__last = {}
  const pending = new Map()
  // An RPC to the viewer, as the agent SDK's attachContext makes them.
  window.rpc = (method, data) => new Promise((resolve, reject) => {
    const id = String(Math.random())
    pending.set(id, { resolve, reject })
    document.getElementById('embed').contentWindow.postMessage(
      { cobrowseio: true, trustedOnly: true, event: 'rpc:request', data: { id, method, data } }, api)
  })
  window.addEventListener('message', (e) => {
    if (e.origin !== api || !e.data || !e.data.cobrowseio) return
    window.__messages.push(e.data.event)
    window.__last[e.data.event] = e.data.data
    if (e.data.event === 'rpc:response' && pending.has(e.data.data.id)) {
      const { resolve, reject } = pending.get(e.data.data.id)
      if (e.data.data.error) reject(new Error(e.data.data.error.message))
      else resolve(e.data.data.data)
    }
    if (e.data.event === 'init') {
      e.source.postMessage({ cobrowseio: true, event: 'trust', data: null }, api)
      e.source.postMessage({ cobrowseio: true, event: 'token', data: q.get('token') }, api)
    }
  })
  document.getElementById('embed').src = q.get('src')
</script>`

/**
 * A helpdesk page that embeds the viewer and drives it with an agent SDK: ours (@tandem/agent's
 * one-script build) or the real cobrowse-agent-sdk from npm (tests/compat), by `?sdk=`.
 * `attachContext(iframe)`, and the context's events in `window.__events`.
 */
const AGENT_SDK_PAGE = `<!doctype html><title>Helpdesk</title>
<iframe id="embed" style="width:1000px;height:700px"></iframe>
<script>document.write('<script src="/sdk.js?' + new URLSearchParams(location.search).get('sdk') + '"><' + '/script>')</script>
<script>
  const q = new URLSearchParams(location.search)
  const API = window.TandemAgent ? window.TandemAgent.TandemAPI : (window.CobrowseAPI.default || window.CobrowseAPI)
  const cobrowse = new API(q.get('token') || undefined, { api: q.get('api') })
  const iframe = document.getElementById('embed')
  iframe.src = q.get('src')
  window.__events = []
  cobrowse.attachContext(iframe).then((ctx) => {
    window.ctx = ctx
    ctx.on('session.loaded', (s) => window.__events.push('loaded ' + s.id))
    ctx.on('session.updated', (s) => window.__events.push('updated ' + s.state))
    ctx.on('screen.updated', () => window.__events.push('screen'))
  })
</script>`
const AGENT_SDKS = {
  tandem: new URL('../packages/agent/dist/tandem-agent.js', import.meta.url),
  cobrowse: new URL('../../tests/compat/node_modules/cobrowse-agent-sdk/dist/umd-browser/cobrowse-agent-sdk.js', import.meta.url)
}

let hostServer
async function hostOrigin (hostname) {
  if (!hostServer) {
    hostServer = createServer((req, res) => {
      if (req.url.startsWith('/sdk.js?')) {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        return res.end(readFileSync(AGENT_SDKS[req.url.split('?')[1]]))
      }
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(req.url.startsWith('/agent-sdk') ? AGENT_SDK_PAGE : HOST_PAGE)
    })
    await new Promise((resolve) => hostServer.listen(0, '0.0.0.0', resolve))
  }
  return `http://${hostname}:${hostServer.address().port}`
}
after(() => hostServer?.close())

test('token_source=postMessage: a trusted helpdesk embeds the viewer and hands it the token', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  // The e2e account trusts http://localhost:* to embed its viewer.
  const host = await (await browser().newContext()).newPage()
  const src = `${api}/session/${session.id}?token_source=postMessage`
  const hostUrl = `${await hostOrigin('localhost')}/?src=${encodeURIComponent(src)}&token=${encodeURIComponent(token)}`
  const viewerRequests = []
  host.on('request', (r) => { if (r.url().startsWith(api)) viewerRequests.push(r.url()) })
  await host.goto(hostUrl)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const embedded = host.frameLocator('#embed')
  await embedded.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await embedded.locator('#status:has-text("Connected")').waitFor()
  const viewer = host.frames().find((f) => f.url().startsWith(`${api}/session/${session.id}?`))
  assert.ok(viewer.url().includes('view='), 'the viewer did not reload under its account\'s policy')
  assert.deepEqual(await lookAt(host, 'viewer-embedded', { frame: viewer }), [])
  assert.ok(await host.evaluate(() => window.__messages.includes('init')))
  // The token travelled by postMessage only: no URL the viewer loaded carries it.
  assert.ok(viewerRequests.length > 0)
  assert.ok(viewerRequests.every((u) => !u.includes(token)), 'the token went into a URL')

  // Custom messages both ways between the helpdesk page and the customer's page.
  await customer.evaluate(() => {
    window.__received = []
    window.tandem.addEventListener('message', (e) => window.__received.push(e.detail))
  })
  await host.evaluate(() => window.rpc('create:message', { name: 'offer', payload: { code: 'SAVE10' } }))
  await customer.waitForFunction(() => window.__received.length === 1, null, { timeout: 10_000 })
  assert.deepEqual(await customer.evaluate(() => window.__received[0]), { name: 'offer', payload: { code: 'SAVE10' } })
  await customer.evaluate(() => window.tandem.sendMessage('cart', { items: 2 }))
  await host.waitForFunction(() => window.__last.message?.name === 'cart', null, { timeout: 10_000 })
  assert.deepEqual(await host.evaluate(() => window.__last.message), { name: 'cart', payload: { items: 2 } })
  // A navigation the helpdesk asks for, refused on the customer's side (another site).
  await host.evaluate(() => window.rpc('create:navigation', { action: 'url', url: 'https://elsewhere.example/' }))
  await host.waitForFunction(() => window.__last.navigation?.status === 'refused', null, { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
  await embedded.locator('#status:has-text("Session ended")').waitFor({ timeout: 10_000 })
})

test('token_source=postMessage: the agent page with a 9-digit token moves on to the session', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  assert.match(session.access_token, /^\d{9}$/)
  const host = await (await browser().newContext()).newPage()
  const src = `${api}/agent?token_source=postMessage#sid=${session.access_token}`
  await host.goto(`${await hostOrigin('localhost')}/?src=${encodeURIComponent(src)}&token=${encodeURIComponent(token)}`)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const embedded = host.frameLocator('#embed')
  await embedded.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  const frame = host.frames().find((f) => f.url().startsWith(`${api}/session/${session.id}?`))
  assert.ok(frame, 'the embedded viewer did not move to /session/<id>')
  assert.ok(!frame.url().includes(token), 'the token went into a URL')
  await customer.evaluate(() => window.tandem.end())
})

test('token_source=postMessage: an origin the account does not trust gets nothing', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const untrusted = await hostOrigin('127.0.0.3')
  const host = await (await browser().newContext()).newPage()
  const open = async (src) => {
    await host.goto(`${untrusted}/?src=${encodeURIComponent(src)}&token=${encodeURIComponent(token)}`)
  }
  // Before it holds a credential the viewer's page is the same for every session id (it must
  // not tell a stranger which exist), so it loads; it drops the token once it learns the
  // account does not trust its parent, and never joins. So does a page with no session yet.
  for (const src of [`${api}/session/${session.id}?token_source=postMessage`, `${api}/code?token_source=postMessage`]) {
    await open(src)
    await host.frameLocator('#embed').locator('#status:has-text("may not embed")').waitFor({ timeout: 10_000 })
    const viewer = host.frames().find((f) => f.url().startsWith(src))
    const name = src.includes('/code') ? 'viewer-untrusted-embedder-code' : 'viewer-untrusted-embedder'
    assert.deepEqual(await lookAt(host, name, { frame: viewer }), [])
    assert.equal(await host.frameLocator('#embed').locator('#code').count(), 0)
    assert.equal((await sessionByCode(session.id)).state, 'pending', 'someone joined the session')
  }
  await customer.evaluate(() => window.tandem.end())
})

for (const [sdk, name] of [['tandem', '@tandem/agent'], ['cobrowse', 'the real cobrowse-agent-sdk']]) {
test(`a helpdesk drives the embedded viewer through ${name}`, async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const host = await (await browser().newContext()).newPage()
  const src = `${api}/session/${session.id}?token=${encodeURIComponent(token)}`
  const query = new URLSearchParams({ api, token, src, sdk })
  await host.goto(`${await hostOrigin('localhost')}/agent-sdk.html?${query}`)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const events = () => host.evaluate(() => window.__events)
  await host.waitForFunction((id) => window.__events.includes(`loaded ${id}`) &&
    window.__events.includes('updated active'), session.id, { timeout: 30_000 })
  const viewer = host.frameLocator('#embed')
  await viewer.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })

  // Tools switched from the host page.
  await host.evaluate(() => window.ctx.setTool('laser'))
  await viewer.locator('button[data-tool="laser"].on').waitFor({ timeout: 5_000 })
  await host.evaluate(() => window.ctx.setTool('drawing'))
  await viewer.locator('button[data-tool="drawing"].on').waitFor({ timeout: 5_000 })
  // The agent draws in the embedded viewer; the host clears the drawings on both sides.
  const frame = host.frames().find((f) => f.url().startsWith(`${api}/session/`))
  const box = await host.locator('#embed').boundingBox()
  const inner = await frame.evaluate(() => {
    const r = document.getElementById('screen').getBoundingClientRect()
    return { x: r.left + 100, y: r.top + 100 }
  })
  await host.mouse.move(box.x + inner.x, box.y + inner.y)
  await host.mouse.down()
  await host.mouse.move(box.x + inner.x + 120, box.y + inner.y + 60, { steps: 8 })
  await host.mouse.up()
  await customer.locator('#tandem-drawing polyline').waitFor({ timeout: 10_000 })
  await host.evaluate(() => window.ctx.clearAnnotations())
  await customer.waitForFunction(() => document.querySelectorAll('#tandem-drawing polyline').length === 0,
    null, { timeout: 10_000 })
  // An unknown tool is refused, as an error of the RPC.
  const refused = await host.evaluate(() => window.ctx.setTool('spray').then(() => null, (e) => e.message))
  assert.match(refused, /unknown tool/)

  // Ending from the host page ends it for the customer too.
  await host.evaluate(() => window.ctx.endSession())
  await customer.waitForSelector('#tandem-banner', { state: 'detached', timeout: 10_000 })
  await host.waitForFunction(() => window.__events.includes('updated ended'), null, { timeout: 10_000 })
  assert.ok((await events()).includes('screen'), 'the host heard about the customer\'s screen')
})
}

test('@tandem/agent: custom messages both ways, navigation, and an origin the account does not trust', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const host = await (await browser().newContext()).newPage()
  const src = `${api}/session/${session.id}?token_source=postMessage`
  const query = new URLSearchParams({ api, token, src, sdk: 'tandem' })
  await host.goto(`${await hostOrigin('localhost')}/agent-sdk.html?${query}`)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await host.waitForFunction(() => window.__events.includes('updated active'), null, { timeout: 15_000 })
  // Messages travel on the session's streams: both are open once the page shows in the viewer.
  await host.frameLocator('#embed').frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  await host.evaluate(() => {
    window.__got = []
    window.ctx.on('message', (m) => window.__got.push(m))
    window.ctx.on('navigation', (n) => window.__got.push(n))
  })
  await customer.evaluate(() => {
    window.__received = []
    window.tandem.addEventListener('message', (e) => window.__received.push(e.detail))
  })
  await host.evaluate(() => window.ctx.sendMessage('offer', { code: 'SAVE10' }))
  await customer.waitForFunction(() => window.__received.length === 1, null, { timeout: 10_000 })
  // A refusal says why, with an id.
  assert.equal(await host.evaluate(() => window.ctx.setTool('spray').catch((e) => `${e.name} ${e.id}`)),
    'APIError invalid_tool')
  assert.deepEqual(await customer.evaluate(() => window.__received[0]), { name: 'offer', payload: { code: 'SAVE10' } })
  await customer.evaluate(() => window.tandem.sendMessage('cart', { items: 2 }))
  await host.evaluate(() => window.ctx.navigate({ url: 'https://elsewhere.example/' }))
  await host.waitForFunction(() => window.__got.length === 2, null, { timeout: 10_000 })
  const [message, navigation] = await host.evaluate(() => window.__got)
  assert.deepEqual(message, { name: 'cart', payload: { items: 2 } })
  assert.equal(navigation.status, 'refused')
  assert.equal(await host.evaluate(() => window.TandemAgent.parseStartMessage('{start:123456789}')), '123456789')
  await customer.evaluate(() => window.tandem.end())

  // On an origin the account does not trust, the viewer never takes the token nor answers.
  const untrusted = await (await browser().newContext()).newPage()
  const code = `${api}/code?token_source=postMessage`
  const q2 = new URLSearchParams({ api, token, src: code, sdk: 'tandem' })
  await untrusted.goto(`${await hostOrigin('127.0.0.3')}/agent-sdk.html?${q2}`)
  await untrusted.frameLocator('#embed').locator('#status:has-text("may not embed")').waitFor({ timeout: 10_000 })
  const answer = await untrusted.evaluate(() => Promise.race([
    window.ctx.users.current().then(() => 'answered'),
    new Promise((resolve) => setTimeout(() => resolve('no answer'), 1500))
  ]))
  assert.equal(answer, 'no answer')
})

test('@tandem/agent drives the viewer\'s tools with no JWT of its own, the viewer\'s own controls hidden', async () => {
  const { page: customer } = await customerPage()
  const session = await sessionByCode(await readCode(customer))
  const host = await (await browser().newContext()).newPage()
  // The helpdesk brings its own tool buttons: the viewer's are hidden.
  const src = `${api}/session/${session.id}?token=${encodeURIComponent(token)}&agent_tools=none&navigation=none`
  await host.goto(`${await hostOrigin('localhost')}/agent-sdk.html?${new URLSearchParams({ api, src, sdk: 'tandem' })}`)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await host.waitForFunction(() => window.__events.includes('updated active'), null, { timeout: 15_000 })
  const viewer = host.frameLocator('#embed')
  await viewer.locator('#tools').waitFor({ state: 'visible', timeout: 10_000 })
  assert.equal(await viewer.locator('#tool-group').count(), 1)
  assert.equal(await viewer.locator('#tool-group').isVisible(), false)
  assert.equal(await viewer.locator('#nav-group').isVisible(), false)
  await host.evaluate(() => window.ctx.setTool('drawing'))
  await viewer.locator('#glass[data-tool="drawing"]').waitFor({ state: 'attached', timeout: 5_000 })
  await host.evaluate(() => window.ctx.endSession())
  await customer.waitForSelector('#tandem-banner', { state: 'detached', timeout: 10_000 })
})
