// A stand-in for the Tandem server for working on the dashboard's looks without one: serves
// dist/ at /dashboard and answers the API from memory with a signed-in superuser administrator.
// `npm run build && node scripts/mock.mjs [port]`, then open http://127.0.0.1:<port>/dashboard.
// `--signed-out` starts signed out (any email then signs in with the link #token=ok, and single
// sign-on with an address at acme.example); `--no-sso` starts without single sign-on.
import { createServer } from 'node:http'
import { readFileSync, existsSync } from 'node:fs'
import { extname, join } from 'node:path'

const DIST = new URL('../dist/', import.meta.url).pathname
const port = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5174)
let signedIn = !process.argv.includes('--signed-out')
const now = Date.now()
const iso = (minutesAgo) => new Date(now - minutesAgo * 60_000).toISOString()

const account = { id: 'acc-1', name: 'Acme Support', role: 'administrator' }
const login = () => ({
  email: 'ann@acme.example', csrf_token: 'csrf', superuser: true, account, accounts: [account, { id: 'acc-2', name: 'Beta Shop', role: 'agent' }],
  user: { id: 'u-1', email: 'ann@acme.example', name: 'Ann', role: 'administrator' }, created: iso(60), expires: iso(-60 * 24 * 7)
})
const agent = (id, name) => ({ id, name, email: `${name.toLowerCase()}@acme.example`, colour: '#4f46e5' })
const sessions = [
  { id: 'sess-1', state: 'active', code: null, custom_data: { user_id: 'u-1042', plan: 'pro' }, agents: [agent('u-1', 'Ann')], created: iso(12), activated: iso(11), updated: iso(1), device: { device: 'Chrome 140', os_version: 'Windows 11', platform: 'web' } },
  { id: 'sess-2', state: 'pending', code: '482913', custom_data: { user_id: 'u-2210' }, agents: [], created: iso(2), updated: iso(2) },
  { id: 'sess-3', state: 'authorizing', code: null, custom_data: { user_id: 'u-77', ticket: 'T-5521' }, agents: [agent('u-2', 'Bob')], created: iso(4), updated: iso(3) }
]
const devices = [
  { id: 'dev-1', online: true, connectable: true, device: { device: 'Chrome 140', os_version: 'Windows 11', platform: 'web' }, custom_data: { user_id: 'u-1042' }, last_active: iso(0) },
  { id: 'dev-2', online: false, connectable: true, device: { device: 'Safari 19', os_version: 'macOS 16', platform: 'web' }, custom_data: { user_id: 'u-88', plan: 'free' }, last_active: iso(180) }
]
const members = [
  { id: 'u-1', email: 'ann@acme.example', name: 'Ann', role: 'administrator', login_sessions: 2 },
  { id: 'u-2', email: 'bob@acme.example', name: 'Bob', role: 'agent', login_sessions: 0 },
  { id: 'u-3', email: 'helpdesk-bot@acme.example', name: 'helpdesk-bot@acme.example', role: 'agent', login_sessions: 0 }
]
const invitations = [{ id: 'inv-1', email: 'cy@acme.example', role: 'agent', created: iso(30), expires: iso(-60 * 24 * 6), invited_by: 'ann@acme.example' }]
const keys = [{ kid: 'k-2026-01', algorithm: 'RS256', created: iso(60 * 24 * 30), last_used: iso(5) }, { kid: 'helpdesk-1', algorithm: 'RS256', created: iso(60 * 24 * 3), last_used: null }]
const settings = {
  require_consent: true, code_expiry_secs: 1200, features: {}, redaction_selectors: ['.card-number', '[data-private]'], unredaction_selectors: [],
  trusted_origins: ['https://desk.acme.example'], asset_origins: ['https://cdn.acme.example'], remote_control_consent: true, agent_submit: false,
  navigation_origins: []
}
const accountJson = () => ({ id: 'acc-1', name: account.name, license_key: 'lk_4f8a1c2e9b7d', features: {}, trusted_origins: settings.trusted_origins, settings })
const adminAccounts = [
  { id: 'acc-1', name: 'Acme Support', license_key: 'lk_4f8a1c2e9b7d', disabled: false, created: iso(60 * 24 * 90), members: 3 },
  { id: 'acc-2', name: 'Beta Shop', license_key: 'lk_99d0aa31c7e2', disabled: true, created: iso(60 * 24 * 12), members: 1 }
]

const CERT = `-----BEGIN CERTIFICATE-----\n${'MIIC8DCCAdigAwIBAgIUQk1uZXhhbXBsZWNlcnRpZmljYXRlZm9ybW9ja3Npbmc'.repeat(6).match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----`
const sp = { entity_id: 'https://tandem.acme.example/api/1/saml/acc-1/metadata', acs_url: 'https://tandem.acme.example/api/1/saml/acc-1/acs', metadata_url: 'https://tandem.acme.example/api/1/saml/acc-1/metadata', login_url: 'https://tandem.acme.example/api/1/saml/acc-1/login' }
let sso = process.argv.includes('--no-sso') ? null : {
  idp_entity_id: 'https://acme.okta.example/exk1a2b3c4', idp_sso_url: 'https://acme.okta.example/app/tandem/sso/saml', idp_certificates: [CERT],
  email_attribute: '', name_attribute: 'displayName', groups_attribute: 'groups', group_roles: [{ group: 'support-leads', role: 'administrator' }, { group: 'support', role: 'agent' }],
  jit: true, default_role: 'agent', require_sso: false, idp_initiated: false, email_domains: ['acme.example']
}
const ssoJson = () => ({
  configured: sso !== null, sp, config: sso,
  certificates: (sso?.idp_certificates ?? []).map((_, i) => ({ subject: `CN=acme.okta.example, O=Acme${i ? ' (next)' : ''}`, not_after: i ? '2029-03-01T00:00:00Z' : iso(-60 * 24 * 20), sha256: 'A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:9' + i }))
})

function api (method, path, body) {
  if (path === '/login/sso' && method === 'POST') {
    const domain = body?.email?.split('@')[1]
    if ((domain && sso?.email_domains.includes(domain)) || (body?.account === 'acc-1' && sso)) { signedIn = true; return [200, { url: body.next ?? '/dashboard/' }] }
    return [404, { id: 'sso_not_found', message: 'No single sign-on is set up for that address or account.' }]
  }
  if (path === '/login/email' && method === 'POST') return [202, { sent: true }]
  if (path === '/login/link' && method === 'POST') {
    if (body?.token !== 'ok') return [401, { id: 'invalid_link', message: 'this link is not valid' }]
    signedIn = true
    return [200, login()]
  }
  if (!signedIn) return [401, { id: 'not_signed_in', message: 'sign in' }]
  if (path === '/login/session' && method === 'GET') return [200, login()]
  if (path === '/login/session' && method === 'PUT') return [200, login()]
  if (path === '/login/session' && method === 'DELETE') { signedIn = false; return [204] }
  if (path === '/login/sessions') return [200, [{ id: 'ls-1', created: iso(60), last_seen: iso(0), expires: iso(-600), user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0', current: true }, { id: 'ls-2', created: iso(60 * 30), last_seen: iso(60 * 20), expires: iso(-600), user_agent: 'Mozilla/5.0 (Macintosh; Mac OS X 14_0) Safari/605.1', current: false }]]
  if (path === '/users/me') return [200, login().user]
  if (path === '/sessions') return [200, sessions]
  const s = /^\/sessions\/([^/]+)(\/history)?$/.exec(path)
  if (s) {
    const found = sessions.find((x) => x.id === s[1] || x.code === s[1])
    if (!found) return [404, { id: 'not_found', message: 'no such session' }]
    if (s[2]) return [200, { session: found.id, pages: [{ url: 'https://shop.acme.example/basket', title: 'Your basket', entered: iso(11), duration_secs: 340 }, { url: 'https://shop.acme.example/checkout', title: 'Checkout', entered: iso(5), duration_secs: 300 }], agents: [{ agent: agent('u-1', 'Ann'), joined: iso(11), left: null }] }]
    return [200, found]
  }
  if (path === '/devices') return [200, devices]
  if (path === '/accounts' && method === 'GET') return [200, [accountJson()]]
  if (path.startsWith('/accounts/') && method === 'PATCH') { Object.assign(settings, body.settings ?? {}); if (body.name) account.name = body.name; return [200, accountJson()] }
  if (path === '/members') return [200, members]
  if (path === '/invitations') return method === 'POST' ? [201, { id: 'inv-2', ...body, created: iso(0), expires: iso(-600) }] : [200, invitations]
  if (path === '/sso' && method === 'GET') return [200, ssoJson()]
  if (path === '/sso' && method === 'PUT') {
    if (body.email_domains?.includes('taken.example')) return [409, { id: 'domain_taken', message: 'taken.example belongs to another account' }]
    const { metadata_xml: xml, ...rest } = body
    sso = { ...rest, idp_entity_id: rest.idp_entity_id ?? (xml ? 'https://idp.from-metadata.example' : ''), idp_sso_url: rest.idp_sso_url ?? 'https://idp.from-metadata.example/sso', idp_certificates: rest.idp_certificates ?? [CERT] }
    return [200, ssoJson()]
  }
  if (path === '/sso' && method === 'DELETE') { sso = null; return [204] }
  if (path === '/keys') return [200, keys]
  if (path === '/keys/generate') return [201, { kid: 'k-new', algorithm: 'RS256', created: iso(0), last_used: null, private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n' }]
  if (path === '/instance') return [200, { version: '0.1.0', backend: 'sqlite', redis: 'not_configured', region: 'default', role: 'all' }]
  if (path === '/admin/accounts') return [200, adminAccounts]
  if (method === 'DELETE' || method === 'PUT' || method === 'PATCH') return [200, {}]
  return [404, { id: 'not_found', message: `${method} ${path}` }]
}

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml' }

createServer((req, res) => {
  const url = new URL(req.url, 'http://x')
  if (url.pathname.startsWith('/api/1/')) {
    let raw = ''
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      const [status, body] = api(req.method, url.pathname.slice(6), raw ? JSON.parse(raw) : undefined)
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(body === undefined ? '' : JSON.stringify(body))
    })
    return
  }
  if (url.pathname.startsWith('/session/')) {
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end('<!doctype html><html lang="en"><title>Viewer</title><body style="font-family:sans-serif;background:#eee"><p>The viewer appears here (mock).</p></body></html>')
    return
  }
  const file = url.pathname.startsWith('/dashboard/assets/') ? join(DIST, url.pathname.slice('/dashboard/'.length)) : join(DIST, 'index.html')
  if (!existsSync(file)) { res.writeHead(404); res.end(); return }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' })
  res.end(readFileSync(file))
}).listen(port, '127.0.0.1', () => console.log(`mock Tandem at http://127.0.0.1:${port}/dashboard`))
