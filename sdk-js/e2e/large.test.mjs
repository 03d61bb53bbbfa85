// Large pages in real Chromium, on the server's default socket limits: a snapshot many times
// bigger than one socket message, even compressed, reaches the viewer in chunks of compressed
// recording (rrweb-z), with progress shown; and on a
// server whose bound on one event is small, a page over it gives the customer an `error` event
// and the agent a message in words, and is never sent again and again.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… (default limits)
//   TANDEM_SMALL_API=… TANDEM_SMALL_TOKEN=… TANDEM_SMALL_LICENSE=… (max event 256 KiB) \
//     node --test sdk-js/e2e/large.test.mjs
//
// The Rust test api/tests/it/e2e.rs starts both servers and runs this file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { environment, lookAt, sides, useBrowser, wireText, zippedFrames } from './helpers.mjs'

const env = environment(['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE', 'TANDEM_SMALL_API', 'TANDEM_SMALL_TOKEN', 'TANDEM_SMALL_LICENSE'])
const browser = useBrowser()
const big = sides({ browser, customerApi: env?.TANDEM_API, agentApi: env?.TANDEM_API, token: env?.TANDEM_TOKEN, license: env?.TANDEM_LICENSE })
const small = sides({ browser, customerApi: env?.TANDEM_SMALL_API, agentApi: env?.TANDEM_SMALL_API, token: env?.TANDEM_SMALL_TOKEN, license: env?.TANDEM_SMALL_LICENSE })

/**
 * Makes the customer's page about `kb` kilobytes of text in many elements, ending with `#last`.
 * The text is pseudo-random letters, which compress about 1.6:1 (a page's snapshot travels
 * compressed): the page still needs many chunks, and still goes over a small bound.
 */
async function grow (customer, kb) {
  await customer.evaluate((kb) => {
    const section = document.createElement('section')
    const letters = () => Array.from({ length: 300 }, () => 'abcdefghijklmnopqrstuvwxyz   '[Math.floor(Math.random() * 29)]).join('')
    for (let i = 0; i < kb * 1024 / 320; i++) {
      const p = document.createElement('p')
      p.textContent = `${i}: ${letters()}`
      section.appendChild(p)
    }
    const last = document.createElement('p')
    last.id = 'last'
    last.textContent = 'The end of a long page'
    section.appendChild(last)
    document.body.appendChild(section)
  }, kb)
}

/** The agent's viewer, noting every message shown over the screen. */
async function watchedViewer (side, sessionId) {
  const agent = await (await browser().newContext()).newPage()
  await agent.addInitScript(() => {
    window.screenMessages = []
    new MutationObserver(() => {
      const text = document.getElementById('screen-message')?.textContent
      if (text && window.screenMessages.at(-1) !== text) window.screenMessages.push(text)
    }).observe(document, { subtree: true, childList: true, characterData: true })
  })
  await agent.goto(`${side.base}/session/${sessionId}?token=${encodeURIComponent(side.token)}`)
  return agent
}

test('a 2 MB page arrives in chunks on the default limits, with progress shown', async () => {
  const { page: customer, sent } = await big.customerPage()
  await grow(customer, 2048)
  const session = await big.sessionByCode(await big.readCode(customer))
  const agent = await watchedViewer({ base: env.TANDEM_API, token: env.TANDEM_TOKEN }, session.id)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  const screen = agent.frameLocator('#screen iframe')
  await screen.locator('#last', { hasText: 'The end of a long page' }).waitFor({ timeout: 30_000 })
  // The snapshot travelled compressed: in many chunks of rrweb-z, none of which carries the
  // page's text as it is.
  assert.ok(zippedFrames(sent) > 10, `${zippedFrames(sent)} compressed frames`)
  assert.ok(!Buffer.concat(sent).includes('The end of a long page'), 'the snapshot went uncompressed')
  assert.ok(wireText(sent).includes('The end of a long page'), 'the snapshot is not in what was sent')
  // Every frame the page sent fits the server's 64 KiB limit, and the socket stayed open.
  assert.ok(sent.length > 0)
  const largest = Math.max(...sent.map((f) => f.length))
  assert.ok(largest <= 64 * 1024, `a ${largest}-byte frame was sent`)
  const messages = await agent.evaluate(() => window.screenMessages)
  assert.ok(messages.some((m) => /^Loading the customer's page… \d+%$/.test(m)), JSON.stringify(messages))
  assert.equal(await agent.locator('#screen-message').count(), 0, 'the progress went once the page was there')
  // Changes after it still arrive.
  await customer.evaluate(() => { document.getElementById('last').textContent = 'Changed at the end' })
  await screen.locator('#last', { hasText: 'Changed at the end' }).waitFor({ timeout: 10_000 })
})

test('a page over the bound on one event: the customer gets an error event, the agent words, no loop', async () => {
  const { page: customer, sent } = await small.customerPage()
  await customer.evaluate(() => {
    window.tandemErrors = []
    window.tandem.addEventListener('error', (e) => window.tandemErrors.push(e.detail))
  })
  let streams = 0
  customer.on('websocket', (ws) => { if (ws.url().includes('X-CobrowseSession')) streams += 1 })
  await grow(customer, 600)
  const session = await small.sessionByCode(await small.readCode(customer))
  const agent = await watchedViewer({ base: env.TANDEM_SMALL_API, token: env.TANDEM_SMALL_TOKEN }, session.id)
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await agent.locator('#screen-message', { hasText: "The customer's page is too large to share" }).waitFor({ timeout: 15_000 })
  assert.deepEqual(await lookAt(agent, 'viewer-page-too-large'), [])
  const errors = await customer.evaluate(() => window.tandemErrors)
  assert.equal(errors.length, 1, JSON.stringify(errors))
  assert.equal(errors[0].id, 'event_too_large')
  assert.match(errors[0].message, /too large/)
  // Nothing is sent again: give a loop time to show itself, then count.
  const framesBefore = sent.length
  await customer.waitForTimeout(3000)
  assert.equal(streams, 1, 'the stream reconnected')
  assert.equal(await customer.evaluate(() => window.tandemErrors.length), 1, 'the snapshot was tried again')
  assert.ok(sent.length - framesBefore < 20, `${sent.length - framesBefore} frames sent while idle`)
  const largest = Math.max(...sent.map((f) => f.length))
  assert.ok(largest <= 64 * 1024, `a ${largest}-byte frame was sent`)
  // And the operator sees it.
  const metrics = await (await fetch(`${env.TANDEM_SMALL_API}/metrics`)).text()
  assert.match(metrics, /^tandem_realtime_page_errors_total\{id="event_too_large"\} 1$/m)
})
