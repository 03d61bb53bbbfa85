// SAML single sign-on end to end in Chromium, against a real server and a real IdP (pysaml2,
// tests/saml/idp.py). The Rust test that drives it starts both and sets TANDEM_API, TANDEM_TOKEN
// (an administrator's JWT), TANDEM_ACCOUNT, IDP_URL and SSO_DOMAIN. An administrator sets single
// sign-on up in the dashboard by pasting the IdP's metadata; people sign in through the IdP and
// get the role their groups map to; IdP-initiated sign-in is refused until allowed; the IdP's
// certificate is rolled over; single sign-on is removed. The settings page and the sign-in step
// are looked at (screenshots at 1280 and 400 px into e2e/artifacts, no serious or critical axe
// findings).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { chromium } from 'playwright-core'
import { CHROMIUM, FLAGS, lookAt, sleep } from './helpers.mjs'

const NEEDED = ['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_ACCOUNT', 'IDP_URL', 'SSO_DOMAIN']
const missing = NEEDED.filter((n) => !process.env[n])
test('environment is configured', () => {
  assert.deepEqual(missing, [], `missing environment variables: ${missing.join(', ')}`)
})
const api = process.env.TANDEM_API?.replace(/\/+$/, '')
const jwt = process.env.TANDEM_TOKEN
const accountId = process.env.TANDEM_ACCOUNT
const idpUrl = process.env.IDP_URL?.replace(/\/+$/, '')
const domain = process.env.SSO_DOMAIN

// The people at the IdP. `boot` sets single sign-on up; `lead` is in the group mapped to
// administrators; `ann` is in another group and gets the default role.
const run = randomUUID().slice(0, 8)
const users = {
  boot: { username: `boot-${run}`, password: `pw-boot-${run}`, email: `boot-${run}@${domain}`, name: 'Boot Strap', groups: [] },
  lead: { username: `lead-${run}`, password: `pw-lead-${run}`, email: `lead@${domain}`, name: 'Lea Lead', groups: ['support-leads', 'staff'] },
  ann: { username: `ann-${run}`, password: `pw-ann-${run}`, email: `ann-${run}@${domain}`, name: 'Ann Agent', groups: ['support'] }
}

let browser
let metadata // the IdP's metadata XML
let certs // {a, b, foreign}: the IdP's certificates (PEM)
let sp // our SP values, from GET /sso

before(async () => {
  if (missing.length) return
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
})

after(async () => {
  await browser?.close()
})


/** Waits until `check()` holds (10 s at most), else fails saying `what`. */
async function eventually (check, what, timeout = 10_000) {
  const end = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > end) assert.fail(what)
    await sleep(100)
  }
}


/** A REST call with the administrator's JWT. */
async function rest (method, path, body) {
  const res = await fetch(`${api}/api/1${path}`, {
    method,
    headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** A call to the test IdP's own API. */
async function idp (method, path, body) {
  const res = await fetch(`${idpUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  assert.ok(res.ok, `IdP ${method} ${path}: ${res.status} ${text}`)
  return text
}

/** PEM without its line breaks, to compare certificates. */
function pemBody (pem) {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '')
}

async function newPage () {
  return await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
}

/** At the IdP's login page: signs `user` in there; resolves with the response of our ACS. */
async function atIdp (page, user) {
  await page.waitForURL((url) => url.href.startsWith(idpUrl), { timeout: 15_000 })
  await page.getByLabel('Username').fill(user.username)
  await page.getByLabel('Password').fill(user.password)
  const acs = page.waitForResponse((r) => r.url().startsWith(sp.acs_url) && r.request().method() === 'POST', { timeout: 15_000 })
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  return await acs
}

/** From our sign-in page: "Sign in with SSO", `who`, Continue. */
async function startSso (page, who) {
  await page.getByRole('button', { name: 'Sign in with SSO' }).click()
  const field = page.getByLabel('Work email or account ID')
  await field.waitFor()
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'sso', null, { timeout: 5_000 })
    .catch(async () => assert.fail(`focus did not move to the field: ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))}`))
  await field.fill(who)
  await page.getByRole('button', { name: 'Continue' }).click()
}

/** A fresh browser signed in through the IdP as `user`, landed on `path` (asked for first). */
async function signInWithSso (user, { path = '/dashboard/sessions', who = user.email } = {}) {
  const page = await newPage()
  await page.goto(`${api}${path}`)
  await page.waitForURL(/\/dashboard\/login/)
  await startSso(page, who)
  const acs = await atIdp(page, user)
  assert.equal(acs.status(), 303, `the ACS refused ${user.email}: ${acs.status()} ${await acs.text().catch(() => '')}`)
  await page.waitForURL((url) => url.href === `${api}${path}`, { timeout: 15_000 })
  return page
}

/** The role the dashboard shows for the signed-in person (under the navigation). */
async function shownRole (page) {
  const who = page.locator('.nav__who')
  await who.waitFor()
  return (await who.textContent()).trim()
}

let admin // boot's page, an administrator's dashboard

test('an administrator sets single sign-on up in the dashboard by pasting the IdP metadata', async () => {
  metadata = await idp('GET', '/metadata')
  certs = JSON.parse(await idp('GET', '/certs'))
  for (const user of Object.values(users)) await idp('POST', '/users', user)

  // The first sign-in: single sign-on set up through REST, everyone new an administrator.
  const start = await rest('GET', '/sso')
  assert.equal(start.status, 200, JSON.stringify(start.body))
  sp = start.body.sp
  assert.ok(sp.acs_url.startsWith(api) && sp.entity_id && sp.metadata_url, JSON.stringify(sp))
  const boot = await rest('PUT', '/sso', {
    metadata_xml: metadata, email_attribute: '', name_attribute: 'displayName', groups_attribute: 'groups', group_roles: [],
    jit: true, default_role: 'administrator', require_sso: false, idp_initiated: false, email_domains: [domain]
  })
  assert.equal(boot.status, 200, JSON.stringify(boot.body))
  // Our SP is registered at the IdP from its metadata URL.
  const spMetadata = await fetch(sp.metadata_url)
  assert.equal(spMetadata.status, 200)
  const spXml = await spMetadata.text()
  assert.match(spXml, /EntityDescriptor/)
  await idp('POST', '/sp', { metadata: spXml })

  admin = await signInWithSso(users.boot)
  assert.match(await shownRole(admin), /administrator/)
  // Settings lead to it, and so does the navigation.
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
  await admin.getByRole('link', { name: 'Single sign-on settings' }).click()
  await admin.waitForURL(/\/dashboard\/settings\/sso$/)
  await admin.getByRole('heading', { name: 'Single sign-on', level: 1 }).waitFor()
  assert.equal(await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Single sign-on' }).getAttribute('aria-current'), 'page')

  // The SP values to paste into the IdP, each with its copy button.
  for (const value of [sp.entity_id, sp.acs_url, sp.metadata_url]) await admin.locator('.sp-values code', { hasText: value }).first().waitFor()
  for (const name of ['Copy Entity ID', 'Copy ACS URL', 'Copy Metadata URL']) await admin.getByRole('button', { name }).waitFor()
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api })
  await admin.getByRole('button', { name: 'Copy ACS URL' }).click()
  await admin.getByText('ACS URL copied').waitFor()
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), sp.acs_url)
  await admin.getByRole('button', { name: 'Dismiss' }).click()

  // Configured by REST: the form holds the IdP's fields. Describe it by its metadata instead.
  assert.equal(await admin.getByLabel('IdP entity ID').inputValue(), `${idpUrl}/metadata`)
  await admin.getByLabel('Its metadata XML').check()
  // Checked before anything is sent, in words…
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  await admin.getByText('Paste the identity provider’s metadata XML').waitFor()
  // …and what the server refuses is said next to the form.
  await admin.getByLabel('IdP metadata XML').fill('<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://nothing.example"></EntityDescriptor>')
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  // (The alert said the form needed fixing; the server's refusal replaces it.)
  const refusal = admin.locator('.form-status [role="alert"]')
  await eventually(async () => (await refusal.count()) === 1 && !(await refusal.textContent()).includes('some fields need fixing'), 'no refusal from the server shown')
  assert.match(await refusal.textContent(), /^Not saved: .{8,}/)

  await admin.getByLabel('IdP metadata XML').fill(metadata)
  await admin.getByLabel('Email attribute').fill('')
  await admin.getByLabel('Display name attribute').fill('displayName')
  await admin.getByLabel('Groups attribute').fill('groups')
  // A group row, by keyboard: Add moves focus to the new row's group.
  await admin.getByRole('button', { name: 'Add a group' }).focus()
  await admin.keyboard.press('Enter')
  await admin.waitForFunction(() => document.activeElement?.getAttribute('name')?.startsWith('group-'), null, { timeout: 5_000 })
  await admin.keyboard.type('support-leads')
  await admin.getByLabel('Role for group 1').selectOption('administrator')
  // A second row, removed again.
  await admin.getByRole('button', { name: 'Add a group' }).click()
  await admin.getByLabel('Group 2', { exact: true }).fill('nobody')
  await admin.getByRole('button', { name: 'Remove group 2 (nobody)' }).click()
  assert.equal(await admin.getByLabel('Group 2', { exact: true }).count(), 0)
  const jit = admin.getByLabel('Create members at their first sign-in (just in time)')
  assert.equal(await jit.isChecked(), true)
  await admin.getByLabel('Role of members created at sign-in').selectOption('agent')
  assert.equal(await admin.getByLabel('Allow IdP-initiated sign-in').isChecked(), false)
  assert.equal(await admin.getByLabel('Require single sign-on').isChecked(), false)
  await admin.getByLabel('Email domains').fill(domain)
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  await admin.getByText('Saved at').waitFor()

  const saved = (await rest('GET', '/sso')).body
  assert.equal(saved.configured, true)
  assert.equal(saved.config.idp_entity_id, `${idpUrl}/metadata`)
  assert.deepEqual(saved.config.idp_certificates.map(pemBody), [pemBody(certs.a)])
  assert.deepEqual(saved.config.group_roles, [{ group: 'support-leads', role: 'administrator' }])
  assert.equal(saved.config.jit, true)
  assert.equal(saved.config.default_role, 'agent')
  assert.equal(saved.config.idp_initiated, false)
  assert.equal(saved.config.require_sso, false)
  assert.deepEqual(saved.config.email_domains, [domain])
  assert.equal(saved.config.groups_attribute, 'groups')
  // The certificate in use, as the server reads it.
  assert.equal(saved.certificates.length, 1)
  const row = admin.locator(`tr[data-sha256="${saved.certificates[0].sha256}"]`)
  await row.waitFor()
  assert.match(await row.textContent(), new RegExp(saved.certificates[0].subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  await lookAt(admin, 'sso-settings', { height: 1200 })
})

test('signing in with SSO: back on the page asked for, with the role the groups map to', async () => {
  // Unknown addresses are told so, in words.
  const page = await newPage()
  await page.goto(`${api}/dashboard/login`)
  await startSso(page, `someone@not-${run}.example`)
  await page.getByText('No single sign-on is set up for that address or account.').waitFor()
  // An account ID leads to the IdP as well.
  await page.getByLabel('Work email or account ID').fill(accountId)
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.waitForURL((url) => url.href.startsWith(idpUrl), { timeout: 15_000 })
  await page.context().close()

  // The lead asked for the keys page: sent to sign in, through the IdP, and back there.
  const lead = await newPage()
  await lead.goto(`${api}/dashboard/keys`)
  await lead.waitForURL(/\/dashboard\/login\?next=/)
  await startSso(lead, users.lead.email)
  const acs = await atIdp(lead, users.lead)
  assert.equal(acs.status(), 303)
  await lead.waitForURL(`${api}/dashboard/keys`, { timeout: 15_000 })
  await lead.getByRole('heading', { name: 'Keys' }).waitFor()
  assert.match(await shownRole(lead), /administrator/)
  await lead.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Single sign-on' }).waitFor()
  await lead.context().close()

  // Ann's group maps to nothing: the default role, and no administration.
  const ann = await signInWithSso(users.ann)
  assert.match(await shownRole(ann), /agent/)
  assert.doesNotMatch(await shownRole(ann), /administrator/)
  const nav = ann.getByRole('navigation', { name: 'Main' })
  for (const name of ['Settings', 'Single sign-on', 'Keys', 'Members']) assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} shown to an agent`)
  await ann.goto(`${api}/dashboard/settings/sso`)
  await ann.getByRole('heading', { name: 'Not available to agents' }).waitFor()
  await ann.context().close()

  const members = (await rest('GET', '/members')).body
  const role = (email) => members.find((m) => m.email === email)?.role
  assert.equal(role(users.lead.email), 'administrator', JSON.stringify(members))
  assert.equal(role(users.ann.email), 'agent', JSON.stringify(members))
  assert.equal(members.find((m) => m.email === users.ann.email)?.name, users.ann.name)
})

test('the SSO sign-in step is looked at', async () => {
  const page = await newPage()
  await page.goto(`${api}/dashboard/login`)
  await startSso(page, `nobody@not-${run}.example`)
  await page.getByText('No single sign-on is set up for that address or account.').waitFor()
  await lookAt(page, 'sso-sign-in')
  // Cancel by keyboard gives focus back to the button.
  await page.getByRole('button', { name: 'Cancel' }).focus()
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => document.activeElement?.textContent === 'Sign in with SSO', null, { timeout: 5_000 })
  await page.context().close()
})

test('IdP-initiated sign-in is refused while off, and works once allowed', async () => {
  const attempt = async () => {
    const page = await newPage()
    await page.goto(`${idpUrl}/idp-initiated?sp=${encodeURIComponent(sp.entity_id)}`)
    return { page, acs: await atIdp(page, users.lead) }
  }
  const refused = await attempt()
  assert.ok(refused.acs.status() >= 400 && refused.acs.status() < 500, `IdP-initiated sign-in while off: ${refused.acs.status()}`)
  await refused.page.getByRole('link', { name: 'Back to sign-in' }).waitFor()
  assert.match(await refused.page.locator('body').textContent(), /IdP-initiated|unsolicited|initiated/i)
  assert.equal((await refused.page.context().cookies(api)).some((c) => c.name === 'tandem_session'), false, 'signed in all the same')
  // The refusal page, as the person who was refused sees it.
  await lookAt(refused.page, 'sso-refused')
  await refused.page.context().close()

  await admin.goto(`${api}/dashboard/settings/sso`)
  await admin.getByLabel('Allow IdP-initiated sign-in').check()
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  await admin.getByText('Saved at').waitFor()
  assert.equal((await rest('GET', '/sso')).body.config.idp_initiated, true)

  const allowed = await attempt()
  assert.equal(allowed.acs.status(), 303)
  await allowed.page.waitForURL((url) => url.href.startsWith(`${api}/dashboard`) && !url.pathname.includes('/login'), { timeout: 15_000 })
  assert.match(await shownRole(allowed.page), /administrator/)
  await allowed.page.context().close()
})

test('certificate rollover: the second certificate is added, the IdP switches, the first is removed', async () => {
  await admin.goto(`${api}/dashboard/settings/sso`)
  const first = admin.getByLabel('Signing certificate', { exact: true })
  const second = admin.getByLabel('Second signing certificate (optional)')
  assert.equal(pemBody(await first.inputValue()), pemBody(certs.a))
  await second.fill(certs.b)
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  await admin.getByText('Saved at').waitFor()
  const both = (await rest('GET', '/sso')).body
  assert.deepEqual(both.config.idp_certificates.map(pemBody), [pemBody(certs.a), pemBody(certs.b)])
  assert.equal(both.certificates.length, 2)
  await admin.locator('table[aria-label="Certificates in use"] tbody tr').nth(1).waitFor()

  await idp('POST', '/settings', { active_key: 'b' })
  await (await signInWithSso(users.lead)).context().close()

  // The first certificate goes: the second stays alone.
  await first.fill('')
  await admin.getByRole('button', { name: 'Save single sign-on' }).click()
  await admin.getByText('Saved at').waitFor()
  const after = (await rest('GET', '/sso')).body
  assert.deepEqual(after.config.idp_certificates.map(pemBody), [pemBody(certs.b)])
  assert.equal(await admin.locator('table[aria-label="Certificates in use"] tbody tr').count(), 1)
  await eventually(async () => pemBody(await first.inputValue()) === pemBody(certs.b), 'the form shows the remaining certificate first')
  await (await signInWithSso(users.ann)).context().close()

  // A response signed with the removed key is refused now.
  await idp('POST', '/settings', { active_key: 'a' })
  const page = await newPage()
  await page.goto(`${api}/dashboard/login`)
  await startSso(page, users.lead.email)
  const acs = await atIdp(page, users.lead)
  assert.ok(acs.status() >= 400 && acs.status() < 500, `a response signed with the removed certificate: ${acs.status()}`)
  await page.getByRole('link', { name: 'Back to sign-in' }).waitFor()
  await page.context().close()
  await idp('POST', '/settings', { active_key: 'b' })
})

test('removing single sign-on asks first, by keyboard; then nobody finds it on the sign-in page', async () => {
  await admin.goto(`${api}/dashboard/settings/sso`)
  const remove = admin.getByRole('button', { name: 'Remove single sign-on' })
  await remove.focus()
  await admin.keyboard.press('Enter')
  const dialog = admin.getByRole('dialog', { name: 'Remove single sign-on?' })
  await dialog.waitFor()
  await admin.waitForFunction(() => document.activeElement?.closest('dialog') !== null, null, { timeout: 5_000 })
  // Escape cancels and gives focus back.
  await admin.keyboard.press('Escape')
  await dialog.waitFor({ state: 'hidden' })
  await admin.waitForFunction(() => document.activeElement?.textContent === 'Remove single sign-on', null, { timeout: 5_000 })
  assert.equal((await rest('GET', '/sso')).body.configured, true)
  await admin.keyboard.press('Enter')
  await dialog.waitFor()
  await admin.keyboard.press('Tab')
  assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Remove single sign-on')
  await admin.keyboard.press('Enter')
  await dialog.waitFor({ state: 'hidden' })
  const gone = (await rest('GET', '/sso')).body
  assert.equal(gone.configured, false)
  assert.equal(gone.config, null)
  await admin.getByText('Single sign-on is not set up.').waitFor({ timeout: 10_000 })
  await lookAt(admin, 'sso-settings-empty', { height: 1200 })

  const page = await newPage()
  await page.goto(`${api}/dashboard/login`)
  await startSso(page, users.lead.email)
  await page.getByText('No single sign-on is set up for that address or account.').waitFor()
  await page.context().close()
})
