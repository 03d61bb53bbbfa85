// Genesys Co-browse integrations on Tandem, in real Chromium: a page instrumented for Genesys
// (e2e/genesys-page.html, written from the seed's examples, on another origin) with only the
// script's URL changed, the agent joining with the token its chat adapter sent, and the agent
// application's History REST API and controller.
//
//   TANDEM_API=… TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> TANDEM_OTHER_TOKEN=<another
//     account's JWT> node --test sdk-js/e2e/genesys.test.mjs
//
// The Rust test api/tests/it/genesys.rs (genesys_in_chromium) starts the server and runs it.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { lookAt, oneServer } from './helpers.mjs'

const { env, api, token, license, browser } = oneServer(['TANDEM_OTHER_TOKEN'])
const PAGE = readFileSync(new URL('./genesys-page.html', import.meta.url), 'utf8')
/** The agent application's cue: the seed's chat integration regular expression. */
const START = /^\{start:(\d{9})\}$/

let site
/** The shop's origin (another origin than Tandem's), serving the instrumented page. */
async function shop () {
  if (!site) {
    site = createServer((req, res) => {
      if (!req.url.startsWith('/genesys/')) {
        res.writeHead(404)
        return res.end()
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(PAGE.replaceAll('{{TANDEM}}', api).replaceAll('{{LICENSE}}', encodeURIComponent(license)))
    })
    await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve))
  }
  return `http://localhost:${site.address().port}`
}
after(() => site?.close())

/**
 * The customer's page in a context of its own; `events` collects what its `log` reports, across
 * the page's loads. `next(name, pred)` waits for the first event of that name (after those
 * already taken) that matches.
 */
async function customer (query) {
  const context = await browser().newContext()
  const events = []
  const waiters = []
  await context.exposeBinding('__report', (_source, name, detail) => {
    events.push({ name, detail })
    for (const w of [...waiters]) w()
  })
  const page = await context.newPage()
  await page.goto(`${await shop()}/genesys/about?${query}`)
  let taken = 0
  async function next (name, pred = () => true, timeout = 15_000) {
    const deadline = Date.now() + timeout
    for (;;) {
      const i = events.findIndex((e, j) => j >= taken && e.name === name && pred(e.detail))
      if (i >= 0) {
        taken = i + 1
        return events[i].detail
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no "${name}" event; the page said: ${JSON.stringify(events)}`)
      await new Promise((resolve) => {
        const wake = () => { clearTimeout(timer); waiters.splice(waiters.indexOf(wake), 1); resolve() }
        const timer = setTimeout(wake, left)
        waiters.push(wake)
      })
    }
  }
  const names = () => events.map((e) => e.name)
  return { page, events, next, names }
}

async function rest (path, { method = 'GET', auth = token } = {}) {
  const headers = auth ? { Authorization: `Bearer ${auth}` } : {}
  const res = await fetch(`${api}${path}`, { method, headers })
  return { status: res.status, body: await res.json().catch(() => null) }
}

/** The agent's page for a token, at Genesys's address for it (`slave.html#sid=`). */
async function agentPage (sid) {
  const agent = await (await browser().newContext()).newPage()
  await agent.goto(`${api}/cobrowse/slave.html?token=${encodeURIComponent(token)}#sid=${sid}`)
  return agent
}

/** Whole seconds between two ms times, as the server (which has µs) may have rounded them. */
function secondsBetween (from, to) {
  const span = to - from
  return [Math.max(0, Math.floor((span - 1) / 1000)), Math.floor((span + 1) / 1000)]
}

test('a custom UI: the chat adapter sends {start:<token>}, the agent joins, navigates and ends; the history follows', async () => {
  const shopper = await customer('hold=1')
  const { page } = shopper
  // onReady as an array whose later push is reached; the top context; masked elements heard.
  assert.deepEqual(await shopper.next('cobrowse onReady'), { isTopContext: true, supported: true })
  assert.deepEqual(await shopper.next('onReady'), { chat: 'none' })
  const masked = [await shopper.next('masked'), await shopper.next('masked')].sort()
  assert.deepEqual(masked, ['account-number', 'password'])
  // initializeAsync runs once Tandem is up, and the button waits for the media to be ready.
  await shopper.next('initializeAsync')
  assert.ok(!shopper.names().includes('initialized'), 'initialized before the media was ready')
  assert.equal(await page.locator('#cobrowse-button').isVisible(), false)
  await page.evaluate(() => window.myChat.connect())
  await shopper.next('media ready')
  assert.equal(await shopper.next('initialized'), null)
  await page.locator('#cobrowse-button').click()

  // The token goes through the adapter; the chat carries the agent's cue.
  const sent = await shopper.next('sendCbSessionToken')
  assert.match(sent, /^\d{9}$/)
  const message = await shopper.next('chat')
  const sid = START.exec(message)?.[1]
  assert.equal(sid, sent, `the chat got ${message}`)
  assert.match(await shopper.next('started'), new RegExp(`representative: ${sid}$`))
  assert.equal(await page.evaluate(() => document.querySelector('.cobrowseToolbar')?.isConnected), true)

  // The agent application: joins as the controller first (as the guide says), then opens the
  // agent page with the token.
  const joined = await rest(`/cobrowse/rest/live/sessions/${sid}/controller`, { method: 'POST' })
  assert.equal(joined.status, 200, JSON.stringify(joined.body))
  const { sessionHistoryId } = joined.body
  const agent = await agentPage(sid)
  const agentJoined = await shopper.next('agent joined')
  assert.deepEqual(agentJoined, { agent: {}, agents: 1, token: sid })

  // The page is in the agent's view; the service element (the toolbar) is not, though the
  // element added beside it at the same moment is.
  const screen = agent.frameLocator('#screen iframe')
  await screen.locator('#headline', { hasText: 'About us' }).waitFor({ timeout: 15_000 })
  await screen.locator('#unmarked-note', { hasText: 'Shared with the representative' }).waitFor({ timeout: 10_000 })
  const mirror = await agent.evaluate(() => {
    const doc = document.querySelector('#screen iframe').contentDocument
    const bar = doc.querySelector('.cobrowseToolbar')
    return {
      text: doc.body.textContent,
      shown: Boolean(bar && bar.getClientRects().length && getComputedStyle(bar).display !== 'none')
    }
  })
  assert.ok(!mirror.text.includes('Co-browse is going on'), 'the service element reached the agent')
  assert.equal(mirror.shown, false, 'the service element shows in the agent\'s view')
  assert.ok(!mirror.text.includes('4111'), 'a masked element reached the agent')
  assert.equal(await page.locator('.cobrowseToolbar').isVisible(), true, 'the customer sees their toolbar')

  // The agent opens another page of the site: the page hears it first, then loads, and on the
  // new page the adapter is initialized again before Co-browse says the session goes on.
  await agent.fill('#nav-url', '/genesys/news?hold=0')
  await agent.click('#nav-go')
  const navigated = await shopper.next('navigated')
  assert.equal(navigated.command, 'url')
  assert.match(navigated.url, /\/genesys\/news\?hold=0$/)
  await shopper.next('initializeAsync')
  await shopper.next('media ready')
  assert.equal(await shopper.next('initialized'), sid)
  await screen.locator('#headline', { hasText: 'News and events' }).waitFor({ timeout: 15_000 })
  // Forward with nowhere to go fails.
  await agent.click('#nav-forward')
  assert.deepEqual(await shopper.next('navigated'), { command: 'forward' })
  await shopper.next('navigation failed')

  // The agent ends it: reason `external`.
  await agent.click('#end')
  assert.deepEqual(await shopper.next('ended'), { reason: 'external', message: 'Co-browse session ended' })
  await page.locator('.cobrowseToolbar').waitFor({ state: 'detached' })

  // The History REST API: both pages, the first counted from the start, the last to the end.
  const { status, body: h } = await rest(`/cobrowse/rest/history/sessions/${sessionHistoryId}`)
  assert.equal(status, 200, JSON.stringify(h))
  assert.equal(h.id, sessionHistoryId)
  assert.equal(h.sessionToken, sid)
  assert.ok(h.creationTime <= h.activationTime && h.activationTime < h.deactivationTime, JSON.stringify(h))
  const shop0 = await shop()
  assert.deepEqual(h.pages.map((p) => p.url), [`${shop0}/genesys/about?hold=1`, `${shop0}/genesys/news?hold=0`])
  const [about, news] = h.pages
  assert.ok(about.enteredTimestamp >= h.activationTime && news.enteredTimestamp > about.enteredTimestamp)
  const [lo0, hi0] = secondsBetween(h.activationTime, news.enteredTimestamp)
  assert.ok(about.duration >= lo0 && about.duration <= hi0, JSON.stringify(h))
  const [lo1, hi1] = secondsBetween(news.enteredTimestamp, h.deactivationTime)
  assert.ok(news.duration >= lo1 && news.duration <= hi1, JSON.stringify(h))
  assert.ok(news.duration >= 3, `the news page was in view through the failed navigation: ${JSON.stringify(h)}`)
  // Another account's agent, and no credentials.
  const path = `/cobrowse/rest/history/sessions/${sessionHistoryId}`
  assert.equal((await rest(path, { auth: env.TANDEM_OTHER_TOKEN })).status, 404)
  assert.equal((await rest(path, { auth: null })).status, 401)
})

test('the built-in UI: the button, the phone question, the session number, consent, and a controller\'s stop', async () => {
  const shopper = await customer('ui=builtin&media=nochat&ready=function')
  const { page } = shopper
  await shopper.next('onReady')
  const button = page.locator('#gcb-button')
  await button.waitFor()
  assert.deepEqual(await lookAt(page, 'genesys-button'), [])

  // No agent on the chat: the customer is asked about the phone. "No" says what to do.
  await button.click()
  await page.locator('#gcb-phone').waitFor()
  assert.deepEqual(await lookAt(page, 'genesys-phone-question'), [])
  await page.locator('#gcb-phone button', { hasText: 'No' }).click()
  await page.locator('#gcb-contact').waitFor()
  assert.deepEqual(await lookAt(page, 'genesys-contact-first'), [])
  await page.locator('#gcb-contact button', { hasText: 'OK' }).click()
  // "Yes" starts the session; its number is shown, and nothing went over the chat.
  await button.click()
  await page.locator('#gcb-phone button', { hasText: 'Yes' }).click()
  const shown = await page.locator('#gcb-token').textContent({ timeout: 10_000 })
  assert.match(shown, /^\d{3} \d{3} \d{3}$/)
  const sid = shown.replace(/\s/g, '')
  assert.match(await shopper.next('started'), new RegExp(`${sid}$`))
  assert.ok(!shopper.names().includes('chat'), 'the token went to a chat with no agent')
  assert.deepEqual(await lookAt(page, 'genesys-session-number'), [])

  // The agent joins; the account asks the customer's consent (Tandem's dialog), then the agent
  // has joined and the number gives way to Tandem's indicator.
  const joined = await rest(`/cobrowse/rest/live/sessions/${sid}/controller`, { method: 'POST' })
  assert.equal(joined.status, 200)
  const agent = await agentPage(sid)
  await page.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await shopper.next('agent joined')
  await page.locator('#tandem-banner').waitFor()
  await page.locator('#gcb-session').waitFor({ state: 'detached' })
  assert.deepEqual(await lookAt(page, 'genesys-active'), [])
  await agent.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 15_000 })
  // Neither UI is in the agent's view.
  const mirrored = await agent.evaluate(() => document.querySelector('#screen iframe').contentDocument.body.textContent)
  assert.ok(!mirrored.includes(shown) && !mirrored.includes('Co-browse is going on'), mirrored)

  // The controller stops it (the primary interaction closed): the page hears `external`.
  const stopped = await rest(`/cobrowse/rest/live/users/${joined.body.userToken}/session/stop`)
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body))
  assert.ok(stopped.body.deactivationTime >= stopped.body.activationTime)
  assert.equal((await shopper.next('ended')).reason, 'external')
  await agent.waitForSelector('#status:has-text("Session ended")', { timeout: 10_000 })
  await button.waitFor({ timeout: 10_000 })
  await page.locator('#tandem-ended').waitFor()
  assert.deepEqual(await lookAt(page, 'genesys-ended'), [])
})

test('Tandem\'s own adapter name still works, and exitSession ends the session as `self`', async () => {
  const shopper = await customer('media=legacy')
  const { page } = shopper
  await shopper.next('initialized')
  await page.locator('#cobrowse-button').click()
  const sid = START.exec(await shopper.next('chat'))?.[1]
  assert.ok(sid, 'sendSessionToken did not get {start:<token>}')
  const live = await rest(`/cobrowse/rest/live/sessions/${sid}`)
  assert.equal(live.status, 200)
  assert.equal(live.body.sessionToken, sid)
  await page.locator('#exit-cobrowse').click()
  assert.deepEqual(await shopper.next('ended'), {
    reason: 'self',
    message: 'You exited Co-browse session. Co-browse terminated'
  })
  assert.equal((await rest(`/cobrowse/rest/live/sessions/${sid}`)).status, 404)
})
