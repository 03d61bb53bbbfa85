// The dashboard's calls: cookie mode with its CSRF header, sign-in, members, invitations, keys,
// account settings and the superuser's instance resources.
import { describe, expect, test } from 'vitest'
import TandemAPI, { APIError } from '../src/index.js'
import { type Call, fakeFetch } from './doubles.js'

const LOGIN = {
  email: 'ann@example.test',
  csrf_token: 'csrf-1',
  superuser: false,
  account: { id: 'acc-1', name: 'Acme', role: 'administrator' },
  accounts: [{ id: 'acc-1', name: 'Acme', role: 'administrator' }, { id: 'acc-2', name: 'Beta', role: 'agent' }],
  user: { id: 'user-1', email: 'ann@example.test', role: 'administrator' },
  created: '2026-01-02T03:04:05Z',
  expires: '2026-01-09T03:04:05Z'
}

function cookieApi (routes: Parameters<typeof fakeFetch>[0], csrf: () => string | undefined = () => 'csrf-1'): { api: TandemAPI, calls: Call[] } {
  const net = fakeFetch(routes)
  return { api: new TandemAPI(undefined, { api: 'http://t', fetch: net.fetch, csrf }), calls: net.calls }
}

describe('cookie mode', () => {
  test('sends X-Tandem-CSRF when the function returns a value, and no Authorization', async () => {
    let csrf: string | undefined = undefined
    const { api, calls } = cookieApi({ 'GET /api/1/login/session': { json: LOGIN } }, () => csrf)
    const session = await api.login.session()
    expect(calls[0].headers['x-tandem-csrf']).toBeUndefined()
    expect(calls[0].headers.authorization).toBeUndefined()
    csrf = session.csrf_token
    await api.login.session()
    expect(calls[1].headers['x-tandem-csrf']).toBe('csrf-1')
  })

  test('a JWT instance sends no CSRF header', async () => {
    const net = fakeFetch({ 'GET /api/1/keys': { json: [] } })
    await new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch }).keys.list()
    expect(net.calls[0].headers['x-tandem-csrf']).toBeUndefined()
    expect(net.calls[0].headers.authorization).toBe('Bearer jwt')
  })
})

describe('login', () => {
  test('email, redeem, session, switch, sign out, sessions and revoke call their endpoints', async () => {
    const { api, calls } = cookieApi({
      'POST /api/1/login/email': { status: 202, json: { sent: true } },
      'POST /api/1/login/link': { json: LOGIN },
      'PUT /api/1/login/session': (call) => ({ json: { ...LOGIN, account: LOGIN.accounts.find((a) => a.id === call.body.account) } }),
      'DELETE /api/1/login/session': { status: 204 },
      'GET /api/1/login/sessions': { json: [{ id: 'ls-1', created: 'x', last_seen: 'x', expires: 'x', user_agent: 'UA', current: true }] },
      'DELETE /api/1/login/sessions/ls%2F2': { status: 204 }
    })
    await api.login.email('ann@example.test')
    await api.login.email('ann@example.test', 'acc-2')
    expect((await api.login.redeem('tok')).email).toBe('ann@example.test')
    expect((await api.login.switchAccount('acc-2')).account?.name).toBe('Beta')
    expect((await api.login.sessions())[0].current).toBe(true)
    await api.login.revoke('ls/2')
    await api.login.signOut()
    expect(calls.map((c) => [c.method, c.url.pathname, c.body])).toEqual([
      ['POST', '/api/1/login/email', { email: 'ann@example.test' }],
      ['POST', '/api/1/login/email', { email: 'ann@example.test', account: 'acc-2' }],
      ['POST', '/api/1/login/link', { token: 'tok' }],
      ['PUT', '/api/1/login/session', { account: 'acc-2' }],
      ['GET', '/api/1/login/sessions', undefined],
      ['DELETE', '/api/1/login/sessions/ls%2F2', undefined],
      ['DELETE', '/api/1/login/session', undefined]
    ])
  })

  test('a used link is an APIError with the server id', async () => {
    const { api } = cookieApi({ 'POST /api/1/login/link': { status: 401, json: { id: 'invalid_link', message: 'this link is not valid' } } })
    const error = await api.login.redeem('old').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({ id: 'invalid_link', status: 401 })
  })

  test('not signed in is a 401 not_signed_in', async () => {
    const { api } = cookieApi({ 'GET /api/1/login/session': { status: 401, json: { id: 'not_signed_in', message: 'sign in' } } })
    await expect(api.login.session()).rejects.toMatchObject({ id: 'not_signed_in', status: 401 })
  })
})

describe('members and invitations', () => {
  test('list, setRole, remove, revokeSessions', async () => {
    const member = { id: 'u-2', email: 'bob@example.test', name: 'Bob', role: 'agent', login_sessions: 2 }
    const { api, calls } = cookieApi({
      'GET /api/1/members': { json: [member] },
      'PUT /api/1/members/u-2': (call) => ({ json: { ...member, role: call.body.role } }),
      'DELETE /api/1/members/u-2': { status: 204 },
      'DELETE /api/1/members/u-2/sessions': { json: { revoked: 2 } }
    })
    expect(await api.members.list()).toEqual([member])
    expect((await api.members.setRole('u-2', 'administrator')).role).toBe('administrator')
    expect(await api.members.revokeSessions('u-2')).toBe(2)
    await api.members.remove('u-2')
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      'GET /api/1/members', 'PUT /api/1/members/u-2', 'DELETE /api/1/members/u-2/sessions', 'DELETE /api/1/members/u-2'
    ])
    expect(calls.every((c) => c.headers['x-tandem-csrf'] === 'csrf-1')).toBe(true)
  })

  test('the last administrator is refused with 409', async () => {
    const { api } = cookieApi({ 'PUT /api/1/members/u-1': { status: 409, json: { id: 'last_administrator', message: 'keep one' } } })
    await expect(api.members.setRole('u-1', 'agent')).rejects.toMatchObject({ id: 'last_administrator', status: 409 })
  })

  test('invitations: list, create, remove', async () => {
    const invitation = { id: 'inv-1', email: 'cy@example.test', role: 'agent', created: 'x', expires: 'y', invited_by: 'ann@example.test' }
    const { api, calls } = cookieApi({
      'GET /api/1/invitations': { json: [invitation] },
      'POST /api/1/invitations': { status: 201, json: invitation },
      'DELETE /api/1/invitations/inv-1': { status: 204 }
    })
    expect(await api.invitations.list()).toEqual([invitation])
    expect(await api.invitations.create({ email: 'cy@example.test', role: 'agent' })).toEqual(invitation)
    await api.invitations.remove('inv-1')
    expect(calls[1].body).toEqual({ email: 'cy@example.test', role: 'agent' })
    expect(calls[2].method).toBe('DELETE')
  })
})

describe('keys', () => {
  test('list, generate, upload a PEM or a JWKS, revoke', async () => {
    const key = { kid: 'k1', algorithm: 'RS256', created: 'x', last_used: null }
    const { api, calls } = cookieApi({
      'GET /api/1/keys': { json: [key] },
      'POST /api/1/keys/generate': { status: 201, json: { ...key, private_key: '-----BEGIN PRIVATE KEY-----' } },
      'POST /api/1/keys': { status: 201, json: [key] },
      'DELETE /api/1/keys/k1': { status: 204 }
    })
    expect(await api.keys.list()).toEqual([key])
    expect((await api.keys.generate()).private_key).toContain('PRIVATE KEY')
    await api.keys.upload({ public_key: 'PEM', kid: 'mine' })
    await api.keys.upload({ jwks: { keys: [] } })
    await api.keys.revoke('k1')
    expect(calls.map((c) => c.body)).toEqual([undefined, {}, { public_key: 'PEM', kid: 'mine' }, { jwks: { keys: [] } }, undefined])
  })

  test('an upload without a key is refused before any call', async () => {
    const { api, calls } = cookieApi({})
    await expect(api.keys.upload({ kid: 'x' })).rejects.toMatchObject({ id: 'invalid_request' })
    expect(calls).toHaveLength(0)
  })
})

describe('single sign-on', () => {
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
  const SP = {
    entity_id: 'http://t/api/1/saml/acc-1/metadata',
    acs_url: 'http://t/api/1/saml/acc-1/acs',
    metadata_url: 'http://t/api/1/saml/acc-1/metadata',
    login_url: 'http://t/api/1/saml/acc-1/login'
  }
  const CONFIG = {
    idp_entity_id: 'https://idp.example/metadata',
    idp_sso_url: 'https://idp.example/sso',
    idp_certificates: [CERT],
    email_attribute: '',
    name_attribute: 'displayName',
    groups_attribute: 'groups',
    group_roles: [{ group: 'support-leads', role: 'administrator' as const }],
    jit: true,
    default_role: 'agent' as const,
    require_sso: false,
    idp_initiated: false,
    email_domains: ['shop.example']
  }

  test('get, update with metadata, remove: the endpoints, bodies and CSRF header', async () => {
    const configured = { configured: true, sp: SP, config: CONFIG, certificates: [{ subject: 'CN=idp', not_after: '2036-01-01T00:00:00Z', sha256: 'AB:CD' }] }
    const { api, calls } = cookieApi({
      'GET /api/1/sso': { json: { configured: false, sp: SP, config: null, certificates: [] } },
      'PUT /api/1/sso': { json: configured },
      'DELETE /api/1/sso': { status: 204 }
    })
    const before = await api.sso.get()
    expect(before.configured).toBe(false)
    expect(before.config).toBeNull()
    expect(before.sp.acs_url).toBe(SP.acs_url)
    const rest = Object.fromEntries(Object.entries(CONFIG).filter(([k]) => !k.startsWith('idp_'))) as Omit<typeof CONFIG, 'idp_entity_id' | 'idp_sso_url' | 'idp_certificates'>
    const after = await api.sso.update({ ...rest, metadata_xml: '<EntityDescriptor/>' })
    expect(after.certificates[0].sha256).toBe('AB:CD')
    expect(after.config?.group_roles).toEqual([{ group: 'support-leads', role: 'administrator' }])
    await api.sso.remove()
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual(['GET /api/1/sso', 'PUT /api/1/sso', 'DELETE /api/1/sso'])
    expect(calls[1].body).toEqual({ ...rest, metadata_xml: '<EntityDescriptor/>' })
    expect(calls[1].body).not.toHaveProperty('idp_certificates')
    expect(calls.every((c) => c.headers['x-tandem-csrf'] === 'csrf-1')).toBe(true)
  })

  test('a field the server refuses, and a domain another account claims, are APIErrors with their ids', async () => {
    const { api } = cookieApi({ 'PUT /api/1/sso': { status: 400, json: { id: 'invalid_sso', message: 'idp_certificates: a signing certificate is required' } } })
    const error = await api.sso.update({ ...CONFIG, idp_certificates: [] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({ id: 'invalid_sso', status: 400, message: expect.stringContaining('idp_certificates') })
    const taken = cookieApi({ 'PUT /api/1/sso': { status: 409, json: { id: 'domain_taken', message: 'shop.example belongs to another account' } } })
    await expect(taken.api.sso.update(CONFIG)).rejects.toMatchObject({ id: 'domain_taken', status: 409 })
  })

  test('login.sso by email or by account, with next; the URL comes back', async () => {
    const { api, calls } = cookieApi({
      'POST /api/1/login/sso': (call) => call.body.email === 'nobody@elsewhere.example'
        ? { status: 404, json: { id: 'sso_not_found', message: 'No single sign-on is set up for that address or account.' } }
        : { json: { url: `/api/1/saml/acc-1/login?next=${encodeURIComponent(call.body.next ?? '')}` } }
    }, () => undefined)
    expect(await api.login.sso({ email: 'ann@shop.example' }, '/dashboard/keys')).toEqual({ url: '/api/1/saml/acc-1/login?next=%2Fdashboard%2Fkeys' })
    await api.login.sso({ account: 'acc-1' })
    await expect(api.login.sso({ email: 'nobody@elsewhere.example' })).rejects.toMatchObject({ id: 'sso_not_found', status: 404 })
    expect(calls.map((c) => c.body)).toEqual([
      { email: 'ann@shop.example', next: '/dashboard/keys' },
      { account: 'acc-1' },
      { email: 'nobody@elsewhere.example' }
    ])
    expect(calls.every((c) => c.method === 'POST' && c.headers.authorization === undefined)).toBe(true)
  })
})

describe('account settings and the instance', () => {
  test('accounts.update PATCHes name and partial settings', async () => {
    const account = { id: 'acc-1', name: 'New', license_key: 'lic', features: {}, trusted_origins: [], settings: { redaction_selectors: ['.x'] } }
    const { api, calls } = cookieApi({ 'PATCH /api/1/accounts/acc-1': { json: account } })
    const updated = await api.accounts.update('acc-1', { name: 'New', settings: { redaction_selectors: ['.x'] } })
    expect(updated.name).toBe('New')
    expect(updated.settings?.redaction_selectors).toEqual(['.x'])
    expect(calls[0]).toMatchObject({ method: 'PATCH', body: { name: 'New', settings: { redaction_selectors: ['.x'] } } })
  })

  test('invalid settings name the field', async () => {
    const { api } = cookieApi({ 'PATCH /api/1/accounts/acc-1': { status: 400, json: { id: 'invalid_settings', message: 'code_expiry_secs: too long' } } })
    await expect(api.accounts.update('acc-1', { settings: { code_expiry_secs: 1e9 } })).rejects.toThrow('code_expiry_secs')
  })

  test('instance.get and instance.accounts list, create, update', async () => {
    const admin = { id: 'acc-9', name: 'Nine', license_key: 'l9', disabled: false, created: 'x', members: 1 }
    const { api, calls } = cookieApi({
      'GET /api/1/instance': { json: { version: '0.1.0', backend: 'sqlite', redis: 'not_configured', region: 'default', role: 'all' } },
      'GET /api/1/admin/accounts': { json: [admin] },
      'POST /api/1/admin/accounts': { status: 201, json: admin },
      'PATCH /api/1/admin/accounts/acc-9': (call) => ({ json: { ...admin, ...call.body } })
    })
    expect((await api.instance.get()).backend).toBe('sqlite')
    expect(await api.instance.accounts.list()).toEqual([admin])
    expect((await api.instance.accounts.create({ name: 'Nine' })).id).toBe('acc-9')
    expect((await api.instance.accounts.update('acc-9', { disabled: true })).disabled).toBe(true)
    expect(calls[3]).toMatchObject({ method: 'PATCH', body: { disabled: true } })
  })

  test('a session history', async () => {
    const history = { session: 'sess-1', pages: [{ url: 'https://shop', title: 'Shop', entered: 'x', duration_secs: 3 }], agents: [] }
    const { api } = cookieApi({
      'GET /api/1/sessions/sess-1': { json: { id: 'sess-1', state: 'ended', custom_data: {} } },
      'GET /api/1/sessions/sess-1/history': { json: history }
    })
    const session = await api.sessions.get('sess-1')
    expect(await session.history()).toEqual(history)
  })
})
