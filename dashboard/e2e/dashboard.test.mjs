// The dashboard end to end in Chromium, against a real server (api/tests/it/dashboard.rs starts
// it with `smtp_url` pointing at SMTP_PORT and a superuser): every sign-in link is read from the
// SMTP server this suite runs. Each page is looked at (screenshots at 1280 and 400 px into
// e2e/artifacts, axe-core's serious and critical findings must be none).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { chromium } from 'playwright-core'
import { CHROMIUM, FLAGS, lookAt, sleep } from './helpers.mjs'
import { SMTPServer } from 'smtp-server'
import { simpleParser } from 'mailparser'

const NEEDED = ['TANDEM_API', 'SMTP_PORT', 'TANDEM_TOKEN', 'TANDEM_LICENSE', 'TANDEM_ACCOUNT', 'TANDEM_SUPERUSER']
const missing = NEEDED.filter((n) => !process.env[n])
test('environment is configured', () => {
  assert.deepEqual(missing, [], `missing environment variables: ${missing.join(', ')}`)
})
const api = process.env.TANDEM_API
const jwt = process.env.TANDEM_TOKEN
const license = process.env.TANDEM_LICENSE
const accountId = process.env.TANDEM_ACCOUNT
const superuser = process.env.TANDEM_SUPERUSER
const ADMIN = 'admin@example.com'
const INVITEE = `agent-${Date.now()}@example.com`

// ---- mail: a real SMTP server on SMTP_PORT; every message kept, links read from the text ----
const mails = []
let smtp
let browser
let evil

before(async () => {
  if (missing.length) return
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase())
        mails.push({ to, subject: parsed.subject ?? '', text: `${parsed.text ?? ''}\n${parsed.html || ''}` })
        callback()
      }, callback)
    }
  })
  await new Promise((resolve, reject) => { smtp.once('error', reject); smtp.listen(Number(process.env.SMTP_PORT), '127.0.0.1', resolve) })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  // Another origin (same host, another port): a page that posts to the API with the cookie.
  evil = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html')
    res.end(`<!doctype html><title>Elsewhere</title><form id="f" method="POST" action="${api}/api/1/invitations" enctype="text/plain">
<input name='{"email":"evil-form@example.com","role":"administrator","x":"' value='"}'></form>`)
  })
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve))
})

after(async () => {
  await browser?.close()
  await new Promise((resolve) => (smtp ? smtp.close(resolve) : resolve()))
  evil?.close()
})

/** The token of the next link mailed to `to` after `since` mails had arrived. */
async function linkFor (to, since = 0, timeout = 15_000) {
  const end = Date.now() + timeout
  while (Date.now() < end) {
    const mail = mails.slice(since).find((m) => m.to.includes(to.toLowerCase()))
    if (mail) {
      const m = /\/dashboard\/login#token=([A-Za-z0-9_\-.~%]+)/.exec(mail.text)
      assert.ok(m, `no sign-in link in the mail to ${to}: ${mail.text}`)
      return decodeURIComponent(m[1])
    }
    await sleep(100)
  }
  throw new Error(`no mail reached ${to} within ${timeout} ms (${mails.length} mails so far)`)
}



/** A REST call with a JWT. */
async function rest (method, path, token = jwt, body) {
  const res = await fetch(`${api}/api/1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** Signs `email` in through the page: the form, the mail, the link. Returns the page. */
async function signIn (email, { page } = {}) {
  page ??= await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
  await page.goto(`${api}/dashboard/login`)
  await page.getByLabel('Email address').fill(email)
  const since = mails.length
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.getByRole('heading', { name: 'Check your email' }).waitFor()
  const token = await linkFor(email, since)
  await page.goto(`${api}/dashboard/login#token=${encodeURIComponent(token)}`)
  await page.waitForURL((url) => !url.pathname.endsWith('/login'), { timeout: 15_000 })
  return { page, token }
}

/** A call from inside the page, with its cookie and CSRF token, as the app makes them. */
function fromPage (page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const session = await (await fetch('/api/1/login/session')).json()
    const res = await fetch(`/api/1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-Tandem-CSRF': session.csrf_token ?? '' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined }
  }, { method, path, body })
}

/** A customer page with the web SDK, tagged `user_id`. */
async function customer (userId) {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${api}/demo?license=${encodeURIComponent(license)}&user_id=${encodeURIComponent(userId)}`)
  await page.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
  return page
}

/** An RS256 JWT signed in Node with `privateKey`. */
function signJwt (privateKey, kid, email = 'keyed@example.com') {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const head = b64({ alg: 'RS256', typ: 'JWT', kid })
  const claims = b64({ iss: license, sub: email, aud: 'tandem', iat: now, exp: now + 600 })
  const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(privateKey).toString('base64url')
  return `${head}.${claims}.${signature}`
}

let admin // the administrator's page, signed in by the first scenario
let adminToken // the link that signed them in (used once)

test('sign-in by email link works, and lands in the console', async () => {
  // The administrator exists as a member once their JWT has been used.
  assert.equal((await rest('GET', '/users/me')).status, 200)
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
  await page.goto(`${api}/dashboard`)
  await page.waitForURL(/\/dashboard\/login/)
  await lookAt(page, 'login')
  // The form says what is wrong, in words, before asking the server.
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.getByText('Write an email address').waitFor()
  await page.getByLabel('Email address').fill(ADMIN)
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.getByRole('heading', { name: 'Check your email' }).waitFor()
  await lookAt(page, 'login-sent')
  // Unknown addresses get the same answer and no mail.
  const before = mails.length
  const unknown = await fetch(`${api}/api/1/login/email`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: api }, body: JSON.stringify({ email: 'nobody@example.com' }) })
  assert.equal(unknown.status, 202)
  adminToken = await linkFor(ADMIN, 0)
  await page.goto(`${api}/dashboard/login#token=${encodeURIComponent(adminToken)}`)
  await page.waitForURL(/\/dashboard\/sessions/, { timeout: 15_000 })
  assert.equal(new URL(page.url()).hash, '', 'the token stays in the address bar')
  await page.getByRole('heading', { name: 'Sessions' }).waitFor()
  assert.ok(!mails.slice(before).some((m) => m.to.includes('nobody@example.com')), 'an unknown address got mail')
  admin = page
})

test('wrong, tampered and used links are refused with a clear message', async () => {
  const page = await (await browser.newContext()).newPage()
  for (const token of [adminToken, `${adminToken.slice(0, -2)}xy`, 'not-a-token']) {
    await page.goto(`${api}/dashboard/login#token=${encodeURIComponent(token)}`)
    await page.getByText('This sign-in link is not valid').waitFor({ timeout: 10_000 })
    assert.match(new URL(page.url()).pathname, /\/dashboard\/login$/)
  }
  await lookAt(page, 'login-invalid-link')
  const res = await fetch(`${api}/api/1/login/link`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: api }, body: JSON.stringify({ token: adminToken }) })
  assert.equal(res.status, 401)
  assert.equal((await res.json()).id, 'invalid_link')
})

test('the session list updates live when a customer starts a session; detail and viewer', async () => {
  const userId = `live-${randomUUID().slice(0, 8)}`
  const sockets = []
  admin.on('websocket', (ws) => sockets.push(ws.url()))
  await admin.goto(`${api}/dashboard/sessions`)
  await admin.getByRole('heading', { name: 'Sessions' }).waitFor()
  await admin.locator('table[aria-label="Sessions"], .t-state').first().waitFor()
  // A figure for the notes, not a timed assertion: navigation start to the list on screen.
  const shown = await admin.evaluate(() => Math.round(performance.now()))
  console.log(`# first load of the sessions page (warm server, loopback): ${shown} ms`)
  const cust = await customer(userId)
  await cust.click('#get-code')
  const code = (await cust.textContent('#tandem-code-value', { timeout: 10_000 })).replace(/\s/g, '')
  const row = admin.locator('tr', { hasText: `user_id: ${userId}` })
  await row.waitFor({ timeout: 8_000 })
  assert.match(await row.textContent(), /pending/)
  // Listed sessions are followed on the socket, opened with the sign-in's cookie (just after the
  // list that shows them is read: wait for it rather than race it).
  for (let i = 0; i < 50 && !sockets.some((u) => u.includes('/sockets/')); i++) await admin.waitForTimeout(100)
  assert.ok(sockets.some((u) => u.includes('/sockets/')), `no socket opened: ${sockets.join(', ')}`)
  await lookAt(admin, 'sessions')
  // The custom-data filter finds it, and only it.
  await admin.getByLabel('Custom data').fill(`user_id=${userId}`)
  await admin.getByRole('button', { name: 'Apply' }).click()
  await admin.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1)
  assert.equal((await rest('GET', `/sessions/${code}`)).body.custom_data.user_id, userId)
  // Detail: state, custom data, history.
  await row.getByRole('link', { name: /Details/ }).click()
  await admin.getByRole('heading', { name: /Session/ }).waitFor()
  await admin.getByText(userId).first().waitFor()
  await lookAt(admin, 'session-detail')
  // Open: the viewer embedded in the console, on the same cookie.
  await admin.getByRole('link', { name: 'Open' }).click()
  await admin.waitForURL(/\/view$/)
  await cust.click('#tandem-consent button:has-text("Allow")', { timeout: 15_000 })
  const frame = admin.frameLocator('iframe.viewer-frame')
  await frame.frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 20_000 })
  // attachContext drives the viewer: the state arrives over the bridge, tools switch.
  await admin.getByText('active', { exact: true }).waitFor({ timeout: 10_000 })
  await admin.getByRole('button', { name: 'Laser' }).click()
  await admin.waitForSelector('button[aria-pressed="true"]:has-text("Laser")')
  await lookAt(admin, 'viewer')
  await admin.getByRole('button', { name: 'End session' }).first().click()
  await admin.getByText('ended', { exact: true }).first().waitFor({ timeout: 10_000 })
  await cust.context().close()
})

test('device connect asks the customer, waits for consent and opens the viewer', async () => {
  const userId = `dev-${randomUUID().slice(0, 8)}`
  const cust = await customer(userId)
  await admin.goto(`${api}/dashboard/devices?f=${encodeURIComponent(`user_id=${userId}`)}`)
  const row = admin.locator('tr', { hasText: userId })
  await row.waitFor({ timeout: 10_000 })
  await row.getByText('online').waitFor({ timeout: 10_000 })
  await lookAt(admin, 'devices')
  await row.getByRole('button', { name: /Connect/ }).click()
  await admin.getByRole('dialog').getByText(/Waiting for the customer|Asking the customer/).waitFor()
  await cust.click('#tandem-consent button:has-text("Allow")', { timeout: 15_000 })
  await admin.waitForURL(/\/sessions\/[^/]+\/view$/, { timeout: 15_000 })
  await admin.frameLocator('iframe.viewer-frame').frameLocator('#screen iframe').locator('#headline').waitFor({ timeout: 20_000 })
  await admin.getByRole('button', { name: 'End session' }).first().click()
  await cust.context().close()
})

test('a redaction selector saved in Settings hides a field on a live customer page', async () => {
  // The customer's page is open before the change.
  const userId = `red-${randomUUID().slice(0, 8)}`
  const cust = await customer(userId)
  await admin.goto(`${api}/dashboard/settings`)
  await admin.getByRole('heading', { name: 'Settings' }).waitFor()
  await lookAt(admin, 'settings', { height: 1200 })
  // Validation in words, before anything is sent.
  await admin.getByLabel('Asset origins').fill('not an origin')
  await admin.getByRole('button', { name: 'Save settings' }).click()
  await admin.getByText('"not an origin" is not an origin').waitFor()
  await admin.getByLabel('Asset origins').fill('')
  await admin.getByLabel('Redaction selectors', { exact: true }).fill('#message')
  await admin.getByRole('button', { name: 'Save settings' }).click()
  await admin.getByText('Saved.').waitFor()
  const account = (await rest('GET', '/accounts')).body[0]
  assert.deepEqual(account.settings.redaction_selectors, ['#message'])
  // The same page, not reloaded, now keeps #message home.
  await cust.click('#get-code')
  const code = (await cust.textContent('#tandem-code-value', { timeout: 10_000 })).replace(/\s/g, '')
  await admin.goto(`${api}/dashboard/code`)
  await admin.getByLabel('Code or session token').fill(code)
  await admin.getByRole('button', { name: 'Open session' }).click()
  await admin.waitForURL(/\/view$/)
  await cust.click('#tandem-consent button:has-text("Allow")', { timeout: 15_000 })
  const screen = admin.frameLocator('iframe.viewer-frame').frameLocator('#screen iframe')
  await screen.locator('#headline').waitFor({ timeout: 20_000 })
  assert.equal(await screen.getByText('Two items, ready to check out.').count(), 0, 'the redacted field reached the agent')
  await admin.getByRole('button', { name: 'End session' }).first().click()
  await cust.context().close()
})

test('keys: generate (a JWT signed with it works), upload, revoke (then refused)', async () => {
  await admin.goto(`${api}/dashboard/keys`)
  await admin.getByRole('heading', { name: 'Keys' }).waitFor()
  await admin.getByRole('button', { name: 'Generate a key pair' }).click()
  const dialog = admin.getByRole('dialog')
  await dialog.getByText('This is the only time it is shown.').waitFor()
  const privateKey = await dialog.getByLabel('Private key (PEM)').inputValue()
  assert.match(privateKey, /BEGIN PRIVATE KEY/)
  const kid = await dialog.locator('code').first().textContent()
  await lookAt(admin, 'keys-generated')
  await dialog.getByRole('button', { name: 'I have saved it' }).click()
  const generated = signJwt(privateKey, kid)
  assert.equal((await rest('GET', '/users/me', generated)).status, 200)

  // Upload a public key made here; a JWT signed with its private half works.
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' })
  const uploadedKid = `uploaded-${Date.now()}`
  await admin.getByRole('button', { name: 'Upload a public key' }).click()
  await admin.getByLabel('PEM public key or JWKS').fill(pem)
  await admin.getByLabel('Key id (optional)').fill(uploadedKid)
  await admin.getByRole('button', { name: 'Upload', exact: true }).click()
  await admin.locator(`tr[data-kid="${uploadedKid}"]`).waitFor()
  assert.equal((await rest('GET', '/users/me', signJwt(pair.privateKey, uploadedKid))).status, 200)
  await lookAt(admin, 'keys')

  // Revoke the generated key, by keyboard alone: the dialog takes focus, Escape gives it back,
  // and the confirmation is reached with Tab.
  const revoke = admin.getByRole('button', { name: `Revoke key ${kid}` })
  await revoke.focus()
  await admin.keyboard.press('Enter')
  await admin.getByRole('dialog').waitFor()
  // Focus moves on the dialog's next frame: wait for it (on a loaded machine that can take a
  // while), and fail with the element that has it instead.
  const focusedWhere = () => admin.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))
  await admin.waitForFunction(() => document.activeElement?.closest('dialog') !== null, null, { timeout: 5_000 })
    .catch(async () => assert.fail(`focus did not move into the dialog: ${await focusedWhere()}`))
  await admin.keyboard.press('Escape')
  await admin.getByRole('dialog').waitFor({ state: 'hidden' })
  await admin.waitForFunction((label) => document.activeElement?.getAttribute('aria-label') === label, `Revoke key ${kid}`, { timeout: 5_000 })
    .catch(async () => assert.fail(`focus did not come back: ${await focusedWhere()}`))
  await admin.keyboard.press('Enter')
  await admin.getByRole('dialog').waitFor()
  await admin.keyboard.press('Tab')
  assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Revoke key')
  await admin.keyboard.press('Enter')
  await admin.locator(`tr[data-kid="${kid}"]`).waitFor({ state: 'detached' })
  assert.equal((await rest('GET', '/users/me', generated)).status, 401)
})

let agentPage

test('invite flow: the invitee signs in from the mail and is a member; agents see no settings and the API refuses them', async () => {
  await admin.goto(`${api}/dashboard/members`)
  await admin.getByRole('heading', { name: 'Members' }).waitFor()
  const since = mails.length
  await admin.getByLabel('Email address').fill(INVITEE)
  await admin.getByLabel('Role', { exact: true }).selectOption('agent')
  await admin.getByRole('button', { name: 'Send invitation' }).click()
  await admin.getByRole('table', { name: 'Pending invitations' }).getByText(INVITEE).waitFor()
  await lookAt(admin, 'members')
  const token = await linkFor(INVITEE, since)
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
  await page.goto(`${api}/dashboard/login#token=${encodeURIComponent(token)}`)
  await page.waitForURL(/\/dashboard\/sessions/, { timeout: 15_000 })
  // An agent's navigation has no Members, Settings or Keys.
  const nav = page.getByRole('navigation', { name: 'Main' })
  await nav.getByRole('link', { name: 'Sessions' }).waitFor()
  for (const name of ['Members', 'Settings', 'Keys', 'Admin']) assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} shown to an agent`)
  await page.goto(`${api}/dashboard/settings`)
  await page.getByRole('heading', { name: 'Not available to agents' }).waitFor()
  // The server refuses them too.
  for (const [method, path, body] of [['GET', '/members'], ['GET', '/keys'], ['PATCH', `/accounts/${accountId}`, { settings: { agent_submit: true } }], ['POST', '/invitations', { email: 'x@example.com', role: 'administrator' }]]) {
    const res = await fromPage(page, method, path, body)
    assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`)
  }
  // The administrator sees the new member.
  await admin.reload()
  await admin.locator(`tr[data-member="${INVITEE}"]`).waitFor()
  agentPage = page
})

test('CSRF: another origin posting with the cookie is refused', async () => {
  const context = admin.context()
  const cookie = (await context.cookies(api)).find((c) => c.name === 'tandem_session')
  assert.ok(cookie, 'no tandem_session cookie')
  assert.equal(cookie.httpOnly, true)
  assert.equal(cookie.sameSite, 'Lax')
  const other = `http://127.0.0.1:${evil.address().port}`
  const page = await context.newPage()
  await page.goto(other)
  // A form post (no preflight) and a fetch with the cookie.
  await Promise.all([page.waitForEvent('load').catch(() => {}), page.evaluate(() => document.getElementById('f').submit())])
  await page.goto(other)
  const status = await page.evaluate(async (api) => {
    try {
      const res = await fetch(`${api}/api/1/invitations`, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"email":"evil-fetch@example.com","role":"administrator"}' })
      return res.type
    } catch (e) { return String(e) }
  }, api)
  assert.ok(status, 'the fetch ran')
  await page.close()
  const invitations = (await rest('GET', '/invitations')).body
  assert.ok(!invitations.some((i) => /^evil-/.test(i.email)), `an invitation from another origin was made: ${JSON.stringify(invitations)}`)
  // The same with the cookie and even the CSRF token, but another Origin: refused.
  const csrf = (await fromPage(admin, 'GET', '/login/session')).body.csrf_token
  const res = await fetch(`${api}/api/1/invitations`, {
    method: 'POST',
    headers: { Cookie: `tandem_session=${cookie.value}`, Origin: other, 'X-Tandem-CSRF': csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'evil-node@example.com', role: 'agent' })
  })
  assert.equal(res.status, 403)
  assert.equal((await res.json()).id, 'csrf_refused')
  // Without the CSRF header, from our own origin: refused as well.
  const bare = await fetch(`${api}/api/1/invitations`, {
    method: 'POST',
    headers: { Cookie: `tandem_session=${cookie.value}`, Origin: api, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'evil-bare@example.com', role: 'agent' })
  })
  assert.equal(bare.status, 403)
})

test('every other page is looked at: code entry, profile, account picker', async () => {
  await admin.goto(`${api}/dashboard/code`)
  await admin.getByRole('button', { name: 'Open session' }).click()
  await admin.getByText('Type the 6-digit code').waitFor()
  await admin.getByLabel('Code or session token').fill('000000')
  await admin.getByRole('button', { name: 'Open session' }).click()
  await admin.getByText('No live session has the code 000000').waitFor()
  await lookAt(admin, 'code')
  await admin.goto(`${api}/dashboard/profile`)
  await admin.getByRole('table', { name: 'Your sign-ins' }).waitFor()
  await lookAt(admin, 'profile')
  await agentPage.goto(`${api}/dashboard/sessions`)
  await agentPage.getByRole('heading', { name: 'Sessions' }).waitFor()
  await lookAt(agentPage, 'sessions-agent')
})

test('superusers: the instance, every account, creating one; disabling an account locks everyone out', async () => {
  const { page } = await signIn(superuser)
  // A superuser in no account yet picks one (or goes to Admin).
  if (page.url().endsWith('/accounts')) {
    await lookAt(page, 'account-picker')
  }
  await page.goto(`${api}/dashboard/admin`)
  await page.getByRole('heading', { name: 'Admin' }).waitFor()
  const instance = page.locator('dl[aria-label="Instance"]')
  await instance.waitFor()
  assert.match(await instance.textContent(), /SQLite|PostgreSQL/)
  await page.getByLabel('New account name').fill('Second account')
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.locator('tr[data-account="Second account"]').waitFor()
  await lookAt(page, 'admin')
  // Now a member of an account: the picker lists it, and picking it lands in its console.
  await page.goto(`${api}/dashboard/accounts`)
  await page.getByRole('button', { name: /Second account/ }).waitFor()
  await lookAt(page, 'account-picker-list')
  await page.getByRole('button', { name: /Second account/ }).click()
  await page.waitForURL(/\/dashboard\/sessions/)
  await page.getByRole('heading', { name: 'Sessions' }).waitFor()
  await page.goto(`${api}/dashboard/admin`)
  await page.locator('tr[data-account="Second account"]').waitFor()

  // Disable the test's account: its administrator's cookie, its JWTs and its devices are refused.
  const row = page.locator('tr', { hasText: license })
  await row.getByRole('button', { name: /Disable/ }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Disable account' }).click()
  await row.getByText('disabled').waitFor()
  const me = await fromPage(admin, 'GET', '/users/me')
  assert.equal(me.status, 403)
  assert.equal(me.body.id, 'account_disabled')
  assert.equal((await fromPage(agentPage, 'GET', '/sessions')).status, 403)
  const byJwt = await rest('GET', '/users/me')
  assert.equal(byJwt.status, 403)
  assert.equal(byJwt.body.id, 'account_disabled')
  const device = await fetch(`${api}/api/1/devices/${randomUUID()}`, {
    method: 'POST', headers: { 'X-CobrowseLicense': license, 'Content-Type': 'application/json' }, body: JSON.stringify({ device: {}, custom_data: {} })
  })
  assert.ok(device.status === 403 || device.status === 401, `a device of a disabled account registered: ${device.status}`)
  await admin.goto(`${api}/dashboard/sessions`)
  await admin.getByText('This account has been disabled').first().waitFor({ timeout: 10_000 })
  await lookAt(admin, 'account-disabled')
  // Enabled again, it works again.
  await row.getByRole('button', { name: /Enable/ }).click()
  await row.getByText('enabled').waitFor()
  assert.equal((await rest('GET', '/users/me')).status, 200)
  await page.context().close()
})

test('sign-out kills the cookie', async () => {
  const cookie = (await admin.context().cookies(api)).find((c) => c.name === 'tandem_session')
  await admin.goto(`${api}/dashboard/profile`)
  await admin.getByRole('button', { name: 'Sign out' }).first().click()
  await admin.waitForURL(/\/dashboard\/login/)
  await admin.getByRole('heading', { name: 'Sign in to Tandem' }).waitFor()
  const res = await fetch(`${api}/api/1/login/session`, { headers: { Cookie: `tandem_session=${cookie.value}` } })
  assert.equal(res.status, 401)
  const users = await fetch(`${api}/api/1/users/me`, { headers: { Cookie: `tandem_session=${cookie.value}` } })
  assert.equal(users.status, 401)
  await admin.goto(`${api}/dashboard/sessions`)
  await admin.waitForURL(/\/dashboard\/login/)
  // The viewer, opened without a token and without the cookie, says so and links to the sign-in.
  await admin.goto(`${api}/session/${randomUUID()}`)
  await admin.locator('#state-text', { hasText: 'You are not signed in to Tandem.' }).waitFor({ timeout: 10_000 })
  const link = admin.getByRole('link', { name: 'Sign in' })
  assert.match(await link.getAttribute('href'), /^\/dashboard\/login\?next=/)
})
