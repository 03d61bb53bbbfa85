// The dashboard's logic without a browser: validation, filters, codes, routes and formatting.
import { APIError } from '@tandem/agent'
import { describe, expect, test } from 'vitest'
import { describeError, isSignedOut } from '../src/lib/errors.ts'
import { filterQuery, filtersToText, parseCode, parseFilters } from '../src/lib/filters.ts'
import { ago, browserName, customData, deviceLabel, duration } from '../src/lib/format.ts'
import { certificateError, codeMinutesError, colourError, domainsError, emailError, httpUrlError, lines, listItems, metadataError, originError, originsError, selectorsError, toPem } from '../src/lib/validate.ts'
import { href, match } from '../src/router.ts'
import { landing, ssoTarget } from '../src/pages/Login.tsx'
import { fieldMessage, fieldOf, toForm as ssoForm, toUpdate as ssoUpdate, validate as ssoValidate } from '../src/pages/Sso.tsx'
import { parseUpload } from '../src/pages/Keys.tsx'
import { toPatch, validate } from '../src/pages/Settings.tsx'
import { sessionsQuery } from '../src/pages/Sessions.tsx'
import { timeline } from '../src/pages/SessionDetail.tsx'

describe('validation', () => {
  test('origins', () => {
    for (const ok of ['https://shop.example', 'http://localhost:8080', 'https://*.cdn.example', 'http://127.0.0.1:*']) expect(originError(ok)).toBeNull()
    for (const bad of ['shop.example', 'https://shop.example/path', 'https://a b', '*', 'javascript:alert(1)', 'https://x:99999']) expect(originError(bad)).not.toBeNull()
    expect(originsError('https://a.example\n\n  https://b.example  ')).toBeNull()
    expect(originsError('https://a.example\nftp://b')).toContain('ftp://b')
  })

  test('selectors, with the parser given', () => {
    const ok = (s: string): boolean => !s.includes('[[')
    expect(selectorsError('.secret\n#card input', ok)).toBeNull()
    expect(selectorsError('.ok\n[[bad', ok)).toContain('[[bad')
  })

  test('code lifetime, colours, emails, lines', () => {
    expect(codeMinutesError('20')).toBeNull()
    expect(codeMinutesError('0')).not.toBeNull()
    expect(codeMinutesError('2.5')).not.toBeNull()
    expect(codeMinutesError('')).not.toBeNull()
    expect(codeMinutesError('1441')).not.toBeNull()
    expect(colourError('#4F46E5')).toBeNull()
    expect(colourError('red')).not.toBeNull()
    expect(emailError(' ann@example.com ')).toBeNull()
    expect(emailError('ann')).not.toBeNull()
    expect(emailError('')).toBe('Write an email address')
    expect(lines(' a \n\n b\n')).toEqual(['a', 'b'])
  })
})

describe('filters and codes', () => {
  test('custom-data filters parse, and errors say what to write', () => {
    expect(parseFilters('user_id=u-1, plan = pro')).toEqual({ filters: [{ key: 'user_id', value: 'u-1' }, { key: 'plan', value: 'pro' }], error: null })
    expect(parseFilters('').filters).toEqual([])
    expect(parseFilters('user_id').error).toContain('key=value')
    expect(parseFilters('bad key=1').error).not.toBeNull()
    expect(filterQuery([{ key: 'user_id', value: 'u-1' }])).toEqual({ filter_user_id: 'u-1' })
    expect(filtersToText([{ key: 'a', value: '1' }, { key: 'b', value: '2' }])).toBe('a=1, b=2')
  })

  test('codes: 6 digits or a 9-digit token, spaces and chat messages allowed', () => {
    expect(parseCode('123 456').code).toBe('123456')
    expect(parseCode('123-456-789').code).toBe('123456789')
    expect(parseCode('{start:987654321}').code).toBe('987654321')
    expect(parseCode('12345').error).toContain('6 digits')
    expect(parseCode('').error).not.toBeNull()
  })
})

describe('routes', () => {
  test('match and href', () => {
    expect(match('/dashboard')).toEqual({ name: 'sessions', params: {} })
    expect(match('/dashboard/')).toEqual({ name: 'sessions', params: {} })
    expect(match('/dashboard/login')).toEqual({ name: 'login', params: {} })
    expect(match('/dashboard/sessions/a%2Fb')).toEqual({ name: 'session', params: { id: 'a/b' } })
    expect(match('/dashboard/sessions/abc/view')).toEqual({ name: 'viewer', params: { id: 'abc' } })
    expect(match('/dashboard/nope').name).toBe('not_found')
    expect(match('/dashboard/settings/sso')).toEqual({ name: 'sso', params: {} })
    expect(href('/keys')).toBe('/dashboard/keys')
  })

  test('after sign-in, only dashboard pages are followed', () => {
    expect(landing('?next=%2Fdashboard%2Fkeys')).toBe('/keys')
    expect(landing('?next=https%3A%2F%2Fevil.example')).toBe('/sessions')
    expect(landing('?next=%2Fdashboard%2F%2Fevil.example')).toBe('/sessions')
    expect(landing('?next=%2Fdashboard%2Flogin')).toBe('/sessions')
    expect(landing('')).toBe('/sessions')
  })
})

describe('pages logic', () => {
  test('the sessions query', () => {
    expect(sessionsQuery('live', true, { filter_user_id: 'u' })).toEqual({ limit: 20, filter_user_id: 'u', state: ['pending', 'authorizing', 'active'], agent: 'all' })
    expect(sessionsQuery('all', false, {}, '2026-01-01T00:00:00.000Z')).toEqual({ limit: 20, activated_before: '2026-01-01T00:00:00.000Z' })
    expect(sessionsQuery('ended', false, {}).state).toEqual(['ended'])
  })

  test('settings: validation by field, and the patch', () => {
    const form = {
      name: 'Acme', trusted: 'https://desk.example', assets: '', navigation: 'nope', redaction: '.secret', unredaction: '',
      consent: true, controlConsent: false, submit: true, codeMinutes: '15', visitorKey: ' user_id '
    }
    expect(validate(form, () => true)).toEqual({ navigation: expect.stringContaining('nope') })
    const patch = toPatch({ ...form, navigation: '' })
    expect(patch).toEqual({
      name: 'Acme',
      settings: {
        trusted_origins: ['https://desk.example'], asset_origins: [], navigation_origins: [], redaction_selectors: ['.secret'],
        unredaction_selectors: [], require_consent: true, remote_control_consent: false, agent_submit: true, code_expiry_secs: 900,
        visitor_id_key: 'user_id'
      }
    })
    expect(validate({ ...form, name: ' ', navigation: '' }, () => true)).toEqual({ name: expect.any(String) })
    expect(validate({ ...form, navigation: '', visitorKey: 'user id' }, () => true)).toEqual({ visitorKey: expect.stringContaining('custom data key') })
  })

  test('key upload: PEM, JWKS, and private keys refused', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'
    expect(parseUpload(pem, 'k1')).toEqual({ upload: { public_key: pem, kid: 'k1' }, error: null })
    expect(parseUpload(pem, '')).toEqual({ upload: { public_key: pem }, error: null })
    expect(parseUpload('{"keys": [{"kty": "RSA"}]}', '').upload).toEqual({ jwks: { keys: [{ kty: 'RSA' }] } })
    expect(parseUpload('{"keys": []}', '').error).not.toBeNull()
    expect(parseUpload('{oops', '').error).toContain('JSON')
    expect(parseUpload('-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----', '').error).toContain('private key')
    expect(parseUpload('hello', '').error).not.toBeNull()
  })

  test('the history timeline is in time order', () => {
    const entries = timeline({
      session: 's',
      pages: [{ url: 'https://shop/b', title: 'B', entered: '2026-01-01T00:02:00Z', duration_secs: 30 }, { url: 'https://shop/a', title: '', entered: '2026-01-01T00:00:00Z', duration_secs: 125 }],
      agents: [{ agent: { id: 'u', name: 'Ann', email: 'ann@x', colour: '#000000' }, joined: '2026-01-01T00:01:00Z', left: '2026-01-01T00:03:00Z' }]
    })
    expect(entries.map((e) => e.text)).toEqual(['(untitled) — https://shop/a · 2 min 5 s', 'Ann joined', 'B — https://shop/b · 30 s', 'Ann left'])
  })
})

describe('formatting and errors', () => {
  test('durations, times ago, custom data, browsers', () => {
    expect(duration(45)).toBe('45 s')
    expect(duration(3725)).toBe('1 h 2 min')
    expect(duration(null)).toBe('—')
    const now = Date.parse('2026-01-01T12:00:00Z')
    expect(ago('2026-01-01T11:59:50Z', now)).toBe('just now')
    expect(ago('2026-01-01T11:50:00Z', now)).toBe('10 min ago')
    expect(ago('2026-01-01T09:00:00Z', now)).toBe('3 h ago')
    expect(ago(null, now)).toBe('never')
    expect(customData({ user_id: 'u-1', seats: 5 })).toBe('user_id: u-1, seats: 5')
    expect(customData({})).toBe('—')
    expect(browserName('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0 Safari/537.36')).toBe('Chrome on Linux')
    expect(browserName(null)).toBe('Unknown browser')
    expect(deviceLabel({ device: 'Mozilla/5.0 (Windows NT 10.0) Chrome/140.0 Safari/537.36', platform: 'web' })).toBe('Chrome on Windows')
    expect(deviceLabel({ device: 'Pixel 9', os_version: 'Android 16', app_name: 'Shop' })).toBe('Pixel 9 · Android 16 · Shop')
    expect(deviceLabel({ platform: 'web' })).toBe('web')
    expect(deviceLabel(null)).toBe('—')
  })

  test('errors in words', () => {
    expect(describeError(new APIError('x', { id: 'invalid_link', status: 401 }))).toContain('expired')
    expect(describeError(new APIError('code_expiry_secs is too long', { id: 'invalid_settings', status: 400 }))).toBe('Not saved: code_expiry_secs is too long')
    expect(describeError(new APIError('boom', { id: 'internal', status: 500 }))).toContain('problem')
    expect(describeError(new APIError('odd', { id: 'odd', status: 418 }))).toBe('odd')
    expect(isSignedOut(new APIError('x', { id: 'not_signed_in', status: 401 }))).toBe(true)
    expect(isSignedOut(new APIError('x', { id: 'invalid_link', status: 401 }))).toBe(false)
    expect(isSignedOut(new APIError('x', { id: 'forbidden', status: 403 }))).toBe(false)
  })
})

describe('single sign-on', () => {
  const B64 = 'MIIC8DCCAdigAwIBAgIUQk1uZXhhbXBsZWNlcnRpZmljYXRl'.repeat(3)
  const PEM = `-----BEGIN CERTIFICATE-----\n${B64.slice(0, 64)}\n${B64.slice(64, 128)}\n${B64.slice(128)}\n-----END CERTIFICATE-----`
  const SP = { entity_id: 'e', acs_url: 'a', metadata_url: 'm', login_url: 'l' }
  const CONFIG = {
    idp_entity_id: 'https://idp.example/metadata', idp_sso_url: 'https://idp.example/sso', idp_certificates: [PEM, PEM],
    email_attribute: '', name_attribute: 'displayName', groups_attribute: 'groups',
    group_roles: [{ group: 'support-leads', role: 'administrator' as const }], jit: true, default_role: 'agent' as const,
    require_sso: true, idp_initiated: false, email_domains: ['shop.example', 'shop2.example']
  }

  test('domains, URLs, certificates and metadata are checked in words', () => {
    expect(listItems('a.example, b.example\nc.example ;d.example')).toEqual(['a.example', 'b.example', 'c.example', 'd.example'])
    expect(domainsError('shop.example, eu.shop.example\nxn--bcher-kva.example')).toBeNull()
    expect(domainsError('ann@shop.example')).toContain('only its domain (shop.example)')
    expect(domainsError('https://shop.example')).toContain('not a domain')
    expect(domainsError('localhost')).toContain('not a domain')
    expect(httpUrlError('https://idp.example/sso')).toBeNull()
    expect(httpUrlError('ftp://idp.example')).toContain('not a web address')
    expect(httpUrlError('', 'The sign-in URL')).toBe('The sign-in URL is required')
    expect(toPem(PEM)).toBe(PEM)
    expect(toPem(`  ${B64}  `)).toBe(PEM)
    expect(toPem('hello')).toBeNull()
    expect(certificateError('')).toBeNull()
    expect(certificateError(PEM)).toBeNull()
    expect(certificateError('-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----')).toContain('private key')
    expect(certificateError('-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----')).toContain('bare public key')
    expect(certificateError('-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----')).toContain('starts with')
    expect(metadataError('<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>')).toBeNull()
    expect(metadataError('')).not.toBeNull()
    expect(metadataError('entityID=x')).toContain('XML')
    expect(metadataError('<html></html>')).toContain('EntityDescriptor')
  })

  test('the form from the server, and back: typed-in fields once set up, metadata before', () => {
    const empty = ssoForm({ configured: false, sp: SP, config: null, certificates: [] })
    expect(empty).toMatchObject({ mode: 'metadata', jit: true, defaultRole: 'agent', requireSso: false, idpInitiated: false, groups: [] })
    const form = ssoForm({ configured: true, sp: SP, config: CONFIG, certificates: [] })
    expect(form).toMatchObject({ mode: 'manual', cert1: PEM, cert2: PEM, domains: 'shop.example\nshop2.example', requireSso: true })
    expect(form.groups.map((g) => [g.group, g.role])).toEqual([['support-leads', 'administrator']])
    expect(ssoValidate(form)).toEqual({})
    expect(ssoUpdate(form)).toEqual(CONFIG)
    // Metadata instead: no IdP fields are sent, the server reads them from the XML.
    const meta = { ...form, mode: 'metadata' as const, metadata: ' <EntityDescriptor entityID="x"></EntityDescriptor> ', domains: 'Shop.example, shop.example' }
    const update = ssoUpdate(meta)
    expect(update.metadata_xml).toBe('<EntityDescriptor entityID="x"></EntityDescriptor>')
    expect(update).not.toHaveProperty('idp_certificates')
    expect(update).not.toHaveProperty('idp_entity_id')
    expect(update.email_domains).toEqual(['shop.example'])
    // A rollover's end: the first box emptied leaves the second certificate alone; bare base64 becomes PEM.
    expect(ssoUpdate({ ...form, cert1: '', cert2: B64 }).idp_certificates).toEqual([PEM])
  })

  test('validation names each field', () => {
    const form = ssoForm({ configured: true, sp: SP, config: CONFIG, certificates: [] })
    expect(ssoValidate({ ...form, entityId: ' ', ssoUrl: 'idp.example', cert1: '', cert2: '' })).toEqual({
      entityId: expect.any(String), ssoUrl: expect.stringContaining('not a web address'), cert1: expect.stringContaining('certificate')
    })
    expect(ssoValidate({ ...form, cert1: '', cert2: PEM })).toEqual({})
    expect(ssoValidate({ ...form, mode: 'metadata', metadata: '' })).toEqual({ metadata: expect.any(String) })
    const twice = [...form.groups, { key: 99, group: 'support-leads', role: 'agent' as const }]
    expect(ssoValidate({ ...form, groups: twice }).groups).toContain('mapped twice')
    expect(ssoValidate({ ...form, groups: [{ key: 98, group: ' ', role: 'agent' }] }).groups).toContain('Name each group')
    expect(ssoValidate({ ...form, groupsAttribute: '' }).groupsAttribute).toContain('attribute')
    expect(ssoValidate({ ...form, domains: 'ann@shop.example' }).domains).toContain('only its domain')
  })

  test('a refusal goes to the field it names', () => {
    const invalid = (message: string): APIError => new APIError(message, { id: 'invalid_sso', status: 400 })
    expect(fieldOf(invalid('idp_certificates: a signing certificate is required'), 'manual')).toBe('cert1')
    expect(fieldOf(invalid('idp_certificates: a signing certificate is required'), 'metadata')).toBe('metadata')
    expect(fieldOf(invalid('email_domains[1]: not a domain'), 'manual')).toBe('domains')
    expect(fieldOf(invalid('something else went wrong'), 'manual')).toBeNull()
    expect(fieldOf(new APIError('{"id":"domain_taken"}', { id: 'domain_taken', status: 409 }), 'manual')).toBe('domains')
    expect(fieldOf(new Error('x'), 'manual')).toBeNull()
    expect(fieldMessage(invalid('idp_certificates: a signing certificate is required'))).toBe('A signing certificate is required')
    expect(fieldMessage(new APIError('{"id":"domain_taken"}', { id: 'domain_taken', status: 409 }))).toContain('Another account already signs in with one of these email domains')
    expect(fieldMessage(new APIError('shop.example belongs to another account', { id: 'domain_taken', status: 409 }))).toBe('shop.example belongs to another account')
    expect(describeError(invalid('idp_sso_url: not a URL'))).toBe('Not saved: idp_sso_url: not a URL')
  })

  test('the sign-in page: an address or an account ID', () => {
    expect(ssoTarget(' lead@shop.example ')).toEqual({ target: { email: 'lead@shop.example' }, error: null })
    expect(ssoTarget('acc-123')).toEqual({ target: { account: 'acc-123' }, error: null })
    expect(ssoTarget('').error).toContain('work email or your account ID')
    expect(ssoTarget('lead@').error).toContain('not an email address')
    expect(ssoTarget('two words').error).toContain('neither')
    expect(describeError(new APIError('No single sign-on is set up for that address or account.', { id: 'sso_not_found', status: 404 }))).toBe('No single sign-on is set up for that address or account.')
  })
})
