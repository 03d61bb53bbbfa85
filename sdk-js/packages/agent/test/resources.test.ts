import { describe, expect, test } from 'vitest'
import TandemAPI, { APIError, Device, Session } from '../src/index.js'
import { type Call, deviceJson, fakeFetch, ME, sessionJson } from './doubles.js'

function api (routes: Parameters<typeof fakeFetch>[0]): { api: TandemAPI, calls: Call[] } {
  const net = fakeFetch(routes)
  return { api: new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch }), calls: net.calls }
}

describe('sessions', () => {
  test('list, get and create return Session objects', async () => {
    const { api: tandem, calls } = api({
      'GET /api/1/sessions': { json: [sessionJson(), sessionJson({ id: 'sess-2', code: null, state: 'active' })] },
      'GET /api/1/sessions/012345': { json: sessionJson() },
      'POST /api/1/sessions': { status: 201, json: sessionJson({ id: 'sess-3', custom_data: { ticket: 'T-1' } }) }
    })
    const list = await tandem.sessions.list({ filter_user_id: 'u-1' })
    expect(list.map((s) => s.id)).toEqual(['sess-1', 'sess-2'])
    expect(list[0]).toBeInstanceOf(Session)
    expect((await tandem.sessions.get('012345')).id).toBe('sess-1')
    const created = await tandem.sessions.create({ custom_data: { ticket: 'T-1' }, agent: 'me' })
    expect(created.id).toBe('sess-3')
    expect(calls[2]).toMatchObject({ method: 'POST', body: { custom_data: { ticket: 'T-1' }, agent: 'me' } })
  })

  test('getters read the resource; timestamps are Dates, missing ones null', async () => {
    const { api: tandem } = api({ 'GET /api/1/sessions/sess-1': { json: sessionJson() } })
    const s = await tandem.sessions.get('sess-1')
    expect(s.id).toBe('sess-1')
    expect(s.code).toBe('012345')
    expect(s.state).toBe('pending')
    expect(s.custom_data).toEqual({ user_id: 'u-1' })
    expect(s.created).toEqual(new Date('2026-01-02T03:04:05.000Z'))
    expect(s.updated).toEqual(new Date('2026-01-02T03:04:06.000Z'))
    expect(s.expires).toEqual(new Date('2026-01-02T03:24:05.000Z'))
    expect(s.activated).toBeNull()
    expect(s.ended).toBeNull()
    expect(s.agent).toEqual({ id: 'user-1', name: 'Ann', email: 'ann@example.test', colour: '#e6194b' })
    expect(s.agents).toHaveLength(1)
    expect(s.device).toBeNull()
    expect(s.full_device).toBe('off')
    expect(s.remote_control).toBe('off')
    expect(s.ended_reason).toBeUndefined()
    expect(s.colours).toEqual(['#e6194b', '#3cb44b'])
    expect(s.recorded).toBe(false)
    expect([s.isPending(), s.isAuthorizing(), s.isActive(), s.isEnded()]).toEqual([true, false, false, false])
    expect(s.toJSON()).toEqual(sessionJson())
  })

  test('state helpers follow the state', async () => {
    const { api: tandem } = api({
      'GET /api/1/sessions': { json: ['authorizing', 'active', 'ended'].map((state, i) => sessionJson({ id: `s${i}`, state })) }
    })
    const [a, b, c] = await tandem.sessions.list()
    expect(a.isAuthorizing() && !a.isPending()).toBe(true)
    expect(b.isActive()).toBe(true)
    expect(c.isEnded()).toBe(true)
  })

  test('update PUTs the partial body with the id and refreshes in place, emitting updated', async () => {
    const { api: tandem, calls } = api({
      'GET /api/1/sessions/sess-1': { json: sessionJson() },
      'PUT /api/1/sessions/sess-1': (call) => ({ json: sessionJson({ custom_data: call.body.custom_data, updated: '2026-01-02T03:05:00.000Z' }) })
    })
    const s = await tandem.sessions.get('sess-1')
    const updates: Session[] = []
    s.on('updated', (x) => updates.push(x))
    const result = await s.update({ custom_data: { user_id: 'u-1', ticket: 'T-9' } })
    expect(result).toBe(s)
    expect(calls[1]).toMatchObject({ method: 'PUT', body: { custom_data: { user_id: 'u-1', ticket: 'T-9' }, id: 'sess-1' } })
    expect(s.custom_data).toEqual({ user_id: 'u-1', ticket: 'T-9' })
    expect(s.updated).toEqual(new Date('2026-01-02T03:05:00.000Z'))
    expect(updates).toEqual([s])
  })

  test('a REST answer identical to what the object holds emits nothing', async () => {
    const { api: tandem } = api({ 'GET /api/1/sessions/sess-1': { json: sessionJson() } })
    const s = await tandem.sessions.get('sess-1')
    let updates = 0
    s.on('updated', () => { updates += 1 })
    await s.fetch()
    expect(updates).toBe(0)
  })

  test('end() sends state ended, emits ended once; ending again is the server\'s 409', async () => {
    let ended = false
    const { api: tandem, calls } = api({
      'GET /api/1/sessions/sess-1': { json: sessionJson() },
      'PUT /api/1/sessions/sess-1': () => {
        if (ended) return { status: 409, json: { id: 'conflict', message: 'the session has ended' } }
        ended = true
        return { json: sessionJson({ state: 'ended', code: null, ended: '2026-01-02T04:00:00.000Z', ended_reason: 'agent_ended' }) }
      }
    })
    const s = await tandem.sessions.get('sess-1')
    let endedEvents = 0
    s.on('ended', (x) => { expect(x).toBe(s); endedEvents += 1 })
    await s.end()
    expect(calls[1].body).toEqual({ state: 'ended', id: 'sess-1' })
    expect(s.state).toBe('ended')
    expect(s.isEnded()).toBe(true)
    expect(s.ended_reason).toBe('agent_ended')
    expect(s.ended).toEqual(new Date('2026-01-02T04:00:00.000Z'))
    expect(s.code).toBeNull()
    const again = await s.end().catch((e: unknown) => e)
    expect(again).toBeInstanceOf(APIError)
    expect(again).toMatchObject({ status: 409, id: 'conflict' })
    await s.fetch()
    expect(endedEvents).toBe(1)
  })

  test('a session read when already ended never emits ended', async () => {
    const { api: tandem } = api({ 'GET /api/1/sessions/sess-1': { json: sessionJson({ state: 'ended' }) } })
    const s = await tandem.sessions.get('sess-1')
    let endedEvents = 0
    s.on('ended', () => { endedEvents += 1 })
    await s.fetch()
    expect(endedEvents).toBe(0)
  })

  test('setFullDevice and setRemoteControl update those fields', async () => {
    let stored = sessionJson()
    const { api: tandem, calls } = api({
      'GET /api/1/sessions/sess-1': () => ({ json: stored }),
      'PUT /api/1/sessions/sess-1': (call) => {
        stored = { ...stored, ...call.body }
        return { json: stored }
      }
    })
    const s = await tandem.sessions.get('sess-1')
    expect(await s.setFullDevice('requested')).toBe(true)
    await s.setRemoteControl('requested')
    expect(calls.slice(1).map((c) => c.body)).toEqual([
      { full_device: 'requested', id: 'sess-1' },
      { remote_control: 'requested', id: 'sess-1' }
    ])
    expect(s.full_device).toBe('requested')
    expect(s.remote_control).toBe('requested')
  })

  test('off() removes a listener', async () => {
    const { api: tandem } = api({
      'GET /api/1/sessions/sess-1': { json: sessionJson() },
      'PUT /api/1/sessions/sess-1': (call) => ({ json: sessionJson(call.body) })
    })
    const s = await tandem.sessions.get('sess-1')
    let n = 0
    const listener = (): void => { n += 1 }
    s.on('updated', listener)
    await s.update({ custom_data: { a: 1 } })
    s.off('updated', listener)
    await s.update({ custom_data: { a: 2 } })
    expect(n).toBe(1)
  })
})

describe('devices', () => {
  test('list by filter and get', async () => {
    const { api: tandem, calls } = api({
      'GET /api/1/devices': { json: [deviceJson(), deviceJson({ id: 'dev-2' })] },
      'GET /api/1/devices/dev-1': { json: deviceJson() }
    })
    const list = await tandem.devices.list({ filter_user_id: 'u-1', seen_after: new Date('2026-01-01T00:00:00.000Z') })
    expect(list.map((d) => d.id)).toEqual(['dev-1', 'dev-2'])
    expect(list[0]).toBeInstanceOf(Device)
    expect([...calls[0].url.searchParams]).toEqual([['filter_user_id', 'u-1'], ['seen_after', '2026-01-01T00:00:00.000Z']])
    expect((await tandem.devices.get('dev-1')).id).toBe('dev-1')
  })

  test('getters: device info, custom data, presence, last_active as a Date', async () => {
    const { api: tandem } = api({
      'GET /api/1/devices': { json: [deviceJson(), deviceJson({ id: 'dev-2', online: true }), deviceJson({ id: 'push', notification_token: undefined })] }
    })
    const [offline, online, push] = await tandem.devices.list()
    expect(offline.device).toEqual({ platform: 'web', app_name: 'Shop', sdk_version: '0.1.0' })
    expect(offline.custom_data).toEqual({ user_id: 'u-1' })
    expect(offline.last_active).toEqual(new Date('2026-01-02T03:00:00.000Z'))
    expect(offline.online).toBe(false)
    expect(offline.connectable).toBe(false)
    expect(online.online).toBe(true)
    expect(online.connectable).toBe(true)
    expect(push.connectable).toBe(true)
    expect(offline.toJSON()).toEqual(deviceJson())
  })

  test('notify POSTs the session id and the attempt (1 by default)', async () => {
    const { api: tandem, calls } = api({
      'GET /api/1/devices/dev-1': { json: deviceJson() },
      'GET /api/1/sessions/sess-1': { json: sessionJson() },
      'POST /api/1/devices/dev-1/notifications': (call) => ({ json: { device: 'dev-1', ...call.body } })
    })
    const device = await tandem.devices.get('dev-1')
    const session = await tandem.sessions.get('sess-1')
    await device.notify({ session })
    await device.notify({ session: 'sess-1', attempt: 3 })
    expect(calls.slice(2).map((c) => [c.method, c.url.pathname, c.body])).toEqual([
      ['POST', '/api/1/devices/dev-1/notifications', { session: 'sess-1', attempt: 1 }],
      ['POST', '/api/1/devices/dev-1/notifications', { session: 'sess-1', attempt: 3 }]
    ])
  })
})

describe('users, accounts, policies, regions', () => {
  test('users.current reads /users/me and users.get reads /users/:id', async () => {
    const { api: tandem, calls } = api({
      'GET /api/1/users/me': { json: ME },
      'GET /api/1/users/user-2': { json: { id: 'user-2', email: 'bo@example.test', name: 'Bo', role: 'agent', colour: '#000' } }
    })
    const me = await tandem.users.current()
    expect([me.id, me.email, me.name, me.role]).toEqual(['user-1', 'ann@example.test', 'Ann', 'administrator'])
    expect(me.created).toEqual(new Date('2026-01-01T00:00:00.000Z'))
    expect(me.toJSON().notification_token).toBe(ME.notification_token)
    const bo = await tandem.users.get('user-2')
    expect(bo.name).toBe('Bo')
    expect(calls.map((c) => c.url.pathname)).toEqual(['/api/1/users/me', '/api/1/users/user-2'])
  })

  test('accounts.list', async () => {
    const { api: tandem } = api({
      'GET /api/1/accounts': { json: [{ id: 'acc-1', name: 'Acme', license_key: 'lic-1', features: { laser: true, drawing: false } }] }
    })
    const [account] = await tandem.accounts.list()
    expect([account.id, account.name, account.license_key]).toEqual(['acc-1', 'Acme', 'lic-1'])
    expect(account.features).toEqual({ laser: true, drawing: false })
  })

  test('policies.current: no policy allows everything; a policy allows what it names', async () => {
    let body: unknown = { '*': {} }
    const { api: tandem, calls } = api({ 'GET /api/1/policy/current': () => ({ json: body }) })
    const open = await tandem.policies.current()
    expect(calls[0].url.pathname).toBe('/api/1/policy/current')
    expect(open.hasPermission('sessions:read')).toBe(true)
    expect(open.hasPermission('laser')).toBe(true)
    body = {
      version: 3,
      sessions: { custom_data: { team: 'a' }, permissions: ['read'] },
      features: { permissions: ['laser'] }
    }
    const narrow = await tandem.policies.current()
    expect(narrow.hasPermission('sessions:read')).toBe(true)
    expect(narrow.hasPermission('sessions:write')).toBe(false)
    expect(narrow.hasPermission('devices:read')).toBe(false)
    expect(narrow.hasPermission('laser')).toBe(true)
    expect(narrow.hasPermission('drawing')).toBe(false)
    expect(narrow.toJSON()).toEqual(body)
  })

  test('regions.closest', async () => {
    const { api: tandem } = api({ 'GET /api/1/regions/closest': { json: { id: 'local', type: 'default' } } })
    const region = await tandem.regions.closest()
    expect([region.id, region.type]).toEqual(['local', 'default'])
  })
})
