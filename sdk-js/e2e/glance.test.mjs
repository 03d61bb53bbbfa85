// Glance's APIs on Tandem (issue 17), in real Chromium. A helpdesk page on another origin, written
// from the Glance Cobrowse Agent API's own examples (../shared/seeds: the viewer URL with
// `ssncode` and `wait=1`, the viewer in an iframe, GLANCE.Cobrowse.Agent), embeds the viewer
// before the customer starts; the customer's site (a third origin) loads Tandem's glance.js and
// starts with GLANCE.Cobrowse.Visitor. Then messages both ways, user state, accessibility,
// requestRC, navigate with confirm, leaveSession and the screen-share methods; and the viewer's
// own pages for an unknown code, a visitor without a session and waiting, at 1280 and 400 px.
//
//   TANDEM_API=… TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> node --test sdk-js/e2e/glance.test.mjs
//
// The account must trust helpdesk pages on http://localhost:* and keep visitor ids under
// `user_id` (api/tests/it/glance.rs starts the server and runs this file).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { lookAt, oneServer } from './helpers.mjs'

const { api, token, license, browser } = oneServer()

/**
 * The helpdesk page, from the seed: the Agent API's script, the viewer in an iframe at the
 * viewer URL (`…?ssncode=<code>&wait=1`, or `visitorid`), `GLANCE.Cobrowse.Agent.init(iframe)`,
 * event listeners, and a session message listener. Tandem's one addition: the agent's token
 * handed to `init` (the viewer's `token_source=postMessage`).
 */
const HELPDESK = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Helpdesk: ticket 4711</title>
<script src="{API}/sdk-js/glance-agent.js"></script>
</head><body>
<main>
<h1>Ticket 4711</h1>
<iframe id="agentviewer" title="Co-browsing with the customer" style="width:100%;max-width:960px;height:620px;border:1px solid #888;box-sizing:border-box"></iframe>
<ol id="log" aria-label="Co-browsing events"></ol>
</main>
<script>
  var q = new URLSearchParams(location.search);
  window.events = [];
  function log (line) {
    window.events.push(line);
    var li = document.createElement('li');
    li.textContent = line;
    document.getElementById('log').appendChild(li);
  }
  var key = q.get('visitorid') ? 'visitorid=' + encodeURIComponent(q.get('visitorid')) : 'ssncode=' + q.get('ssncode');
  var viewer = document.getElementById('agentviewer');
  viewer.src = '{API}/session?' + key + '&wait=1&token_source=postMessage';
  GLANCE.Cobrowse.Agent.init(viewer, { token: q.get('token') });
  ['waiting', 'sessionstarting', 'sessionstart', 'sessionend', 'agents', 'rc', 'rcrequest', 'navigate', 'connectfailed', 'error'].forEach(function (name) {
    GLANCE.Cobrowse.Agent.addEventListener(name, function (data) { log(name + ' ' + JSON.stringify(data)); });
  });
  GLANCE.Cobrowse.Agent.addSessionMessageListener('cart', function (msgName, msg) {
    window.cart = { msgName: msgName, msg: msg };
  });
</script>
</body></html>`

/** Where leaveSession sends the viewer. */
const LEFT = '<!doctype html><html lang="en"><head><title>Back to the ticket</title></head><body><p id="left">You left the session.</p></body></html>'

/** The customer's site: Glance's visitor tag (glance.js from Tandem) and its visitor API. */
const SHOP = (title, button) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop: ${title}</title>
<script>window.GLANCE_COBROWSE = {VISITOR};</script>
<script id="glance-cobrowse" src="{API}/sdk-js/glance.js" data-groupid="{LICENSE}"></script>
</head><body><main>
<h1 id="headline">${title}</h1>
<p><button id="pay" type="button">${button}</button> <a id="next" href="shop2.html">Delivery</a></p>
<form id="start"><label for="key">Code from your agent</label> <input id="key" autocomplete="off">
<button type="submit">Start co-browsing</button></form>
</main>
<script>
  window.events = [];
  document.getElementById('start').addEventListener('submit', function (e) {
    e.preventDefault();
    GLANCE.Cobrowse.Visitor.startSession(document.getElementById('key').value || undefined);
  });
  ['sessionstart', 'sessioncontinue', 'sessionend', 'agents', 'rc'].forEach(function (name) {
    GLANCE.Cobrowse.Visitor.addEventListener(name, function (data) { window.events.push(name + ' ' + JSON.stringify(data)); });
  });
  GLANCE.Cobrowse.Visitor.addEventListener('confirm', function (params) { window.confirmed = params; });
  GLANCE.Cobrowse.Visitor.addEventListener('rcrequested', function (request) { window.rcRequest = request; });
  GLANCE.Cobrowse.Visitor.addSessionMessageListener('hello', function (msgName, msg) { window.fromAgent = { msgName: msgName, msg: msg }; });
</script>
</body></html>`

let server
let helpdeskBase
let shopBase
before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    const visitor = url.searchParams.get('visitorid')
    const pages = { '/helpdesk.html': HELPDESK, '/left.html': LEFT, '/shop.html': SHOP('Checkout', 'Pay now'), '/shop2.html': SHOP('Delivery', 'Confirm address') }
    const page = pages[url.pathname]
    if (!page) {
      res.writeHead(404)
      return res.end()
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(page.replaceAll('{API}', api).replaceAll('{LICENSE}', license)
      .replace('{VISITOR}', JSON.stringify(visitor ? { visitorid: visitor } : {})))
  })
  await new Promise((resolve) => server.listen(0, '0.0.0.0', resolve))
  const port = server.address().port
  // Three origins: Tandem, the helpdesk (trusted to embed the viewer) and the customer's site.
  helpdeskBase = `http://localhost:${port}`
  shopBase = `http://127.0.0.1:${port}`
})
after(() => server?.close())

async function rest (method, path, body) {
  const res = await fetch(`${api}/api/1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const json = await res.json()
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

/** A new tab in a browser context of its own. */
async function tab () {
  return (await browser().newContext({ viewport: { width: 1280, height: 900 } })).newPage()
}

/** Waits for the helpdesk to have logged an event starting with `prefix`; returns its data. */
async function heard (host, prefix) {
  const handle = await host.waitForFunction((p) => window.events.find((e) => e.startsWith(p)), prefix, { timeout: 15_000 })
  const line = await handle.jsonValue()
  return JSON.parse(line.slice(line.indexOf(' ') + 1))
}

/** Calls GLANCE.Cobrowse.Agent's `method` on the helpdesk page; `{error: code}` when it rejects. */
async function agent (host, method, ...args) {
  return host.evaluate(async ([method, args]) => {
    try {
      const value = await window.GLANCE.Cobrowse.Agent[method](...args)
      return value === undefined ? {} : { value }
    } catch (e) {
      return { error: e.code ?? e.name, message: e.message }
    }
  }, [method, args])
}

/** Runs `steps`; a failure says what each page had heard by then. */
async function telling (pages, steps) {
  try {
    await steps()
  } catch (e) {
    for (const [name, page] of Object.entries(pages)) {
      const heard = await page()?.evaluate(() => window.events).catch(() => 'gone')
      e.message += `\n${name} heard: ${JSON.stringify(heard)}`
    }
    throw e
  }
}

async function looked (page, name) {
  const findings = await lookAt(page, name)
  await page.setViewportSize({ width: 1280, height: 900 })
  assert.deepEqual(findings, [], `axe on ${name}`)
}

test('a Glance helpdesk embeds the viewer with ssncode and wait=1; the customer starts; everything works', async () => {
  let host
  let customer
  await telling({ helpdesk: () => host, customer: () => customer }, async () => {
    // The agent's side hands out a code before the customer has started anything.
    const created = await rest('POST', '/sessions', {})
    const code = created.code
    host = await tab()
    const codeLookups = []
    host.on('request', (r) => { if (r.url().includes(`/api/1/sessions/${code}`)) codeLookups.push(r.url()) })
    await host.goto(`${helpdeskBase}/helpdesk.html?ssncode=${code}&token=${encodeURIComponent(token)}`)
    const viewer = host.frameLocator('#agentviewer')
    await viewer.locator('#state-title:has-text("Waiting for the customer")').waitFor({ timeout: 15_000 })
    assert.deepEqual(await heard(host, 'waiting '), { ssncode: code })
    assert.match(await viewer.locator('#state-text').textContent(), new RegExp(`${code.slice(0, 3)} ${code.slice(3)}`))
    const viewerFrame = host.frames().find((f) => f.url().startsWith(`${api}/session?`))
    const findings = await lookAt(host, 'glance-helpdesk-waiting', { frame: viewerFrame })
    await host.setViewportSize({ width: 1280, height: 900 })
    assert.deepEqual(findings, [], 'axe on the embedded waiting viewer')

    // The customer enters the code on the site: GLANCE.Cobrowse.Visitor.startSession(code).
    customer = await tab()
    await customer.goto(`${shopBase}/shop.html`)
    await customer.fill('#key', code)
    await customer.click('#start button')
    // The viewer opens the session at once, told by its socket: it looked the code up once.
    await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 15_000 })
    const mirror = viewer.frameLocator('#screen iframe')
    await mirror.locator('#headline:has-text("Checkout")').waitFor({ timeout: 15_000 })
    assert.equal(codeLookups.length, 1, `the viewer polled: ${codeLookups.join(', ')}`)
    assert.equal((await heard(host, 'sessionstart ')).sessionid, created.id)
    assert.equal((await heard(host, 'agents {"count":1')).agentlist.length, 1)
    await customer.waitForFunction(() => window.events.some((e) => e.startsWith('sessionstart ')))
    assert.equal(await agent(host, 'getSessionState', 'sessionstart').then((r) => r.value.sessionid), created.id)

    // Messages both ways.
    assert.deepEqual(await agent(host, 'sendSessionMessage', 'hello', { text: 'Hi from the agent' }), {})
    await customer.waitForFunction(() => window.fromAgent?.msg?.text === 'Hi from the agent')
    assert.equal(await customer.evaluate(() => window.fromAgent.msgName), 'hello')
    await customer.evaluate(() => window.GLANCE.Cobrowse.Visitor.sendSessionMessage('cart', { items: 2 }))
    await host.waitForFunction(() => window.cart?.msg?.items === 2)
    assert.equal(await host.evaluate(() => window.cart.msgName), 'cart')
    assert.equal((await agent(host, 'sendSessionMessage', '')).error, 'invalid_request')

    // The customer's user state, read by the agent.
    await customer.evaluate(() => window.GLANCE.Cobrowse.Visitor.setUserState('plan', { tier: 'gold' }))
    await host.waitForFunction(() => window.GLANCE.Cobrowse.Agent.getUserState('plan')?.tier === 'gold')
    assert.equal(await host.evaluate(() => window.GLANCE.Cobrowse.Agent.getUserState('missing')), undefined)

    // Accessibility: the element the agent points at is said on the customer's page.
    assert.equal(await host.evaluate(() => window.GLANCE.Cobrowse.Agent.accessibilityEnabled()), false)
    assert.deepEqual(await agent(host, 'enableAccessibility', true), {})
    assert.equal(await host.evaluate(() => window.GLANCE.Cobrowse.Agent.accessibilityEnabled()), true)
    // The agent's tools work once the viewer has the session active on an open stream.
    await viewer.locator('button[data-tool="laser"]:enabled').waitFor({ timeout: 10_000 })
    const pay = await mirror.locator('#pay').boundingBox()
    await host.mouse.move(pay.x - 60, pay.y + pay.height / 2)
    await host.mouse.move(pay.x + pay.width / 2, pay.y + pay.height / 2, { steps: 5 })
    const region = customer.locator('#tandem-announcer')
    await customer.waitForFunction(() => /is pointing at Pay now, button$/.test(document.getElementById('tandem-announcer')?.textContent ?? ''), null, { timeout: 10_000 })
    assert.equal(await region.getAttribute('role'), 'status')
    assert.equal(await region.getAttribute('aria-live'), 'polite')
    // Screen readers hear it: the region is in the accessibility tree, with its words.
    const tree = await customer.locator('body').ariaSnapshot()
    assert.match(tree, /status: .*is pointing at Pay now, button/, tree)
    // Never part of what the agent sees.
    assert.doesNotMatch(await mirror.locator('body').innerText(), /pointing at/)
    assert.equal((await agent(host, 'enableAccessibility', 'yes')).error, 'invalid_request')

    // Remote control: asked, accepted on the customer's page, then stopped.
    assert.deepEqual(await agent(host, 'requestRC', true), {})
    await customer.waitForFunction(() => window.rcRequest !== undefined, null, { timeout: 10_000 })
    assert.deepEqual(await heard(host, 'rcrequest '), { state: 'requested' })
    await customer.evaluate(() => window.rcRequest.accept())
    await host.waitForFunction(() => window.GLANCE.Cobrowse.Agent.getSessionState('rc')?.enabled === true, null, { timeout: 10_000 })
    await customer.waitForFunction(() => window.events.includes('rc {"enabled":true}'))
    assert.deepEqual(await agent(host, 'requestRC', false), {})
    await host.waitForFunction(() => window.GLANCE.Cobrowse.Agent.getSessionState('rc')?.enabled === false, null, { timeout: 10_000 })

    // navigate(): Glance's rules refuse what they do not allow, before anything is sent.
    for (const params of [{ url: 'shop2.html', open: {}, link: {} }, { back: true, link: { target: '_self' } },
      { url: 'shop2.html', back: true }, { url: 'shop2.html', link: { target: '_top' } }, null]) {
      assert.equal((await agent(host, 'navigate', params)).error, 'invalid_request', JSON.stringify(params))
    }
    // Another site, not one the account allows: the customer's page refuses it.
    assert.deepEqual((await agent(host, 'navigate', { url: 'https://elsewhere.example/', link: { target: '_self' } })).value,
      { status: 'refused', reason: 'https://elsewhere.example is not a site agents may send customers to' })
    // With confirm: the page's confirm listener gets the params and accept().
    await host.evaluate(() => {
      window.navOutcome = window.GLANCE.Cobrowse.Agent.navigate({ url: 'shop2.html', confirm: { message: 'Shall we fill in the delivery address?' }, link: { target: '_self' } })
    })
    await customer.waitForFunction(() => window.confirmed !== undefined, null, { timeout: 10_000 })
    const asked = await customer.evaluate(() => ({ ...window.confirmed, accept: typeof window.confirmed.accept }))
    assert.equal(asked.url, `${shopBase}/shop2.html`)
    assert.deepEqual(asked.confirm, { message: 'Shall we fill in the delivery address?' })
    assert.deepEqual(asked.link, { target: '_self' })
    assert.equal(asked.accept, 'function')
    await customer.evaluate(() => window.confirmed.accept())
    await customer.waitForURL(`${shopBase}/shop2.html`, { timeout: 10_000 })
    assert.deepEqual(await host.evaluate(() => window.navOutcome), { status: 'done', reason: null })
    await mirror.locator('#headline:has-text("Delivery")').waitFor({ timeout: 15_000 })
    assert.equal((await heard(host, `navigate {"url":"${shopBase}/shop2.html"`)).title, 'Shop: Delivery')
    await customer.waitForFunction(() => window.events.some((e) => e.startsWith('sessioncontinue ')))

    // Screen share is not Tandem's: each method says so.
    for (const method of ['addScreenshare', 'pauseScreenshare', 'pauseScreeenshare', 'resumeScreenshare', 'closeScreenshare']) {
      assert.equal((await agent(host, method, { screenshareView: 'glance_screenshare' })).error, 'not_supported', method)
    }

    // leaveSession: the viewer goes to the given page; the session goes on for the customer.
    const left = host.waitForEvent('framenavigated', { predicate: (f) => f.url() === `${helpdeskBase}/left.html`, timeout: 10_000 })
    assert.deepEqual(await agent(host, 'leaveSession', '/left.html'), {})
    await left
    assert.equal((await rest('GET', `/sessions/${created.id}`)).state, 'active')
    assert.equal(await host.evaluate(() => window.events.some((e) => e.startsWith('sessionend'))), false)
    assert.equal(await customer.evaluate(() => window.GLANCE.Cobrowse.Visitor.inSession()), true)
    await customer.evaluate(() => window.GLANCE.Cobrowse.Visitor.stopSession())
    await customer.waitForFunction(() => window.events.includes('sessionend {"reason":"visitor"}'))
    assert.equal((await rest('GET', `/sessions/${created.id}`)).state, 'ended')
  })
})

test('the viewer says what it cannot open, in words; a visitor is waited for and opened', async () => {
  const page = await tab()
  const viewerUrl = (query) => `${api}/session?${query}&token=${encodeURIComponent(token)}`

  // A code that no longer opens anything: said as such, with the way on.
  const gone = await rest('POST', '/sessions', {})
  await rest('PUT', `/sessions/${gone.id}`, { state: 'ended' })
  await page.goto(viewerUrl(`ssncode=${gone.code}`))
  await page.locator('#state-title:has-text("No session has code")').waitFor({ timeout: 10_000 })
  assert.match(await page.textContent('#state-text'), /expired/)
  assert.match(await page.textContent('#status'), /No session has code/)
  await page.locator('#state-actions a:has-text("Enter a code")').waitFor()
  assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /session_not_found|not_found|404/)
  await looked(page, 'glance-unknown-code')

  // Not a code at all; a code the customer has not used yet (without wait=1).
  await page.goto(viewerUrl('ssncode=12a'))
  await page.locator('#state-text:has-text("is not a session code")').waitFor({ timeout: 10_000 })
  const unused = await rest('POST', '/sessions', {})
  await page.goto(viewerUrl(`SSNCODE=${unused.code}`))
  await page.locator('#state-title:has-text("has not started this session yet")').waitFor({ timeout: 10_000 })
  await rest('PUT', `/sessions/${unused.id}`, { state: 'ended' })

  // A visitor with no session: said, with a way to wait here.
  const visitor = `v-${Date.now()}`
  await page.goto(viewerUrl(`visitorid=${visitor}`))
  await page.locator('#state-title:has-text("This customer has no session")').waitFor({ timeout: 10_000 })
  await looked(page, 'glance-no-visitor-session')
  await page.click('#wait-here')
  await page.locator('#state-title:has-text("Waiting for the customer")').waitFor({ timeout: 10_000 })
  assert.equal(new URL(page.url()).searchParams.get('wait'), '1')
  assert.match(await page.textContent('#status'), /Waiting for the customer/)
  await looked(page, 'glance-waiting')

  // The customer with that visitor id starts (GLANCE_COBROWSE.visitorid): the viewer opens it.
  const customer = await tab()
  await customer.goto(`${shopBase}/shop.html?visitorid=${visitor}`)
  await customer.click('#start button')
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 15_000 })
  await page.frameLocator('#screen iframe').locator('#headline:has-text("Checkout")').waitFor({ timeout: 15_000 })
  const opened = new URL(page.url()).pathname.split('/')[2]
  const session = await rest('GET', `/sessions/${opened}`)
  assert.equal(session.custom_data.user_id, visitor)
  await customer.evaluate(() => window.GLANCE.Cobrowse.Visitor.stopSession())
})

test('GLANCE.Cobrowse.Agent refuses what it cannot do', async () => {
  const host = await tab()
  await host.goto(`${helpdeskBase}/left.html`)
  await host.addScriptTag({ url: `${api}/sdk-js/glance-agent.js` })
  const result = await host.evaluate(async () => {
    const a = window.GLANCE.Cobrowse.Agent
    const out = {}
    try { a.init(document.body) } catch (e) { out.init = e.name }
    try { a.addEventListener('rc') } catch (e) { out.listener = e.name }
    await a.sendSessionMessage('x', {}).catch((e) => { out.beforeInit = e.code })
    await a.addScreenshare({}).catch((e) => { out.screenshare = e.code })
    return out
  })
  assert.deepEqual(result, { init: 'TypeError', listener: 'TypeError', beforeInit: 'not_initialized', screenshare: 'not_supported' })
})
