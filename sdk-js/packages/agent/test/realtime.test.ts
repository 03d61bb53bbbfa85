import { afterEach, describe, expect, test, vi } from 'vitest'
import TandemAPI, { APIError, type Device, type Session, TokenExpiredError, VERSION } from '../src/index.js'
import { reconnectDelay, socketUrl } from '../src/realtime.js'
import { type Call, deviceJson, fakeFetch, type FakeSocket, fakeWebSocket, ME, sessionJson, settle } from './doubles.js'

const BEARER = `cbio.http.headers.authorization.bearer.${btoa(ME.notification_token).replace(/=+$/, '')}`

interface Setup {
  tandem: TandemAPI
  calls: Call[]
  sockets: FakeSocket[]
  me: { value: unknown, status: number }
}

function setup (): Setup {
  const me = { value: ME as unknown, status: 200 }
  const net = fakeFetch({
    'GET /api/1/users/me': () => ({ status: me.status, json: me.value }),
    'GET /api/1/sessions/sess-1': { json: sessionJson() },
    'GET /api/1/sessions/sess-2': { json: sessionJson({ id: 'sess-2', control_token: 'control-2' }) },
    'GET /api/1/devices/dev-1': { json: deviceJson() },
    'PUT /api/1/sessions/sess-1': (call) => ({ json: sessionJson(call.body) })
  })
  const ws = fakeWebSocket()
  const tandem = new TandemAPI('jwt', { api: 'http://tandem.test', fetch: net.fetch, WebSocket: ws.WebSocket })
  return { tandem, calls: net.calls, sockets: ws.sockets, me }
}

/** Subscribes and plays the server: opens the socket and acknowledges. */
async function subscribed (s: Setup, resource: Session | Device, socket?: FakeSocket): Promise<FakeSocket> {
  const done = resource.subscribe()
  await settle()
  const ws = socket ?? s.sockets.at(-1)!
  if (ws.readyState === 0) ws.accept()
  ws.ackAll()
  await done
  return ws
}

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('the socket URL', () => {
  test('notification_url resolved against the API, ws(s), sockets/1/ws with the SDK headers', () => {
    const query = `X-CobrowsePlatform=agent-sdk&X-CobrowseSDKVersion=${VERSION}`
    expect(socketUrl('http://tandem.test', 'http://tandem.test/')).toBe(`ws://tandem.test/sockets/1/ws?${query}`)
    expect(socketUrl('https://x.test/base', 'https://x.test/base/')).toBe(`wss://x.test/base/sockets/1/ws?${query}`)
    expect(socketUrl('https://x.test/base', '/rt/')).toBe(`wss://x.test/rt/sockets/1/ws?${query}`)
    expect(socketUrl('https://x.test/base', undefined)).toBe(`wss://x.test/base/sockets/1/ws?${query}`)
  })

  test('reconnect delays grow from about a second to at most a minute and a half', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    expect(reconnectDelay(1)).toBe(1000)
    expect(reconnectDelay(5)).toBeCloseTo(1500 ** 1.2)
    expect(reconnectDelay(100)).toBe(60_000)
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    expect(reconnectDelay(100)).toBeLessThan(90_000)
    expect(reconnectDelay(100)).toBeGreaterThan(89_000)
  })
})

describe('subscriptions', () => {
  test('no socket until something subscribes; then one, with the bearer subprotocol', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    expect(s.sockets).toHaveLength(0)
    const ws = await subscribed(s, session)
    expect(s.sockets).toHaveLength(1)
    expect(ws.url).toBe(`ws://tandem.test/sockets/1/ws?X-CobrowsePlatform=agent-sdk&X-CobrowseSDKVersion=${VERSION}`)
    expect(ws.protocols).toEqual(['cbor', BEARER])
    expect(BEARER).not.toContain('=')
    expect(ws.binaryType).toBe('arraybuffer')
    expect(ws.sent).toEqual([{ event: 'subscribe', id: 1, data: 'control-1' }])
    expect(s.calls.filter((c) => c.url.pathname === '/api/1/users/me')).toHaveLength(1)
  })

  test('subscribe() resolves only when the server acknowledges', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    let resolved = false
    const done = session.subscribe().then(() => { resolved = true })
    await settle()
    const ws = s.sockets[0]
    ws.accept()
    await settle()
    expect(resolved).toBe(false)
    ws.ackAll()
    await done
    expect(resolved).toBe(true)
  })

  test('a session listed without its control_token is read again before subscribing', async () => {
    const ws = fakeWebSocket()
    const net = fakeFetch({
      'GET /api/1/sessions': { json: [sessionJson({ control_token: undefined })] },
      'GET /api/1/sessions/sess-1': { json: sessionJson() },
      'GET /api/1/users/me': { json: ME }
    })
    const tandem = new TandemAPI('jwt', { api: 'http://tandem.test', fetch: net.fetch, WebSocket: ws.WebSocket })
    const [session] = await tandem.sessions.list()
    expect(session.toJSON().control_token).toBeUndefined()
    const done = session.subscribe()
    await settle()
    ws.sockets[0].accept()
    expect(ws.sockets[0].sent).toEqual([{ event: 'subscribe', id: 1, data: 'control-1' }])
    ws.sockets[0].ackAll()
    await done
    session.unsubscribe()
  })

  test('pushed session events update the resource and emit updated; ended exactly once', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const ws = await subscribed(s, session)
    const updates: Array<Record<string, unknown>> = []
    let ended = 0
    session.on('updated', (x) => updates.push({ ...x.custom_data }))
    session.on('ended', (x) => { expect(x).toBe(session); ended += 1 })

    ws.push({ event: 'session', data: sessionJson({ custom_data: { user_id: 'u-1', ticket: 'T-1' } }) })
    expect(session.custom_data).toEqual({ user_id: 'u-1', ticket: 'T-1' })
    ws.push({ event: 'session', data: sessionJson({ id: 'other', custom_data: { x: 1 } }) })
    ws.push({ event: 'device', data: deviceJson() })
    ws.push({ event: 'session', data: sessionJson({ state: 'active', activated: '2026-01-02T03:10:00.000Z' }) })
    expect(session.isActive()).toBe(true)
    expect(session.activated).toEqual(new Date('2026-01-02T03:10:00.000Z'))
    const end = sessionJson({ state: 'ended', ended_reason: 'device_ended', ended: '2026-01-02T03:20:00.000Z' })
    ws.push({ event: 'session', data: end })
    ws.push({ event: 'session', data: end })
    expect(session.ended_reason).toBe('device_ended')
    expect(updates).toHaveLength(4)
    expect(ended).toBe(1)
  })

  test('a device subscribes with its notification token and asks for presence', async () => {
    const s = setup()
    const device = await s.tandem.devices.get('dev-1')
    const ws = await subscribed(s, device)
    expect(ws.sent).toEqual([
      { event: 'subscribe', id: 1, data: 'notify-1' },
      { event: 'sync-presence', id: 2, data: 'dev-1' }
    ])
    const seen: boolean[] = []
    device.on('updated', (d) => seen.push(d.online))
    ws.push({ event: 'presence', data: { id: 'dev-1', present: true, last_seen: '2026-01-02T05:00:00.000Z' } })
    expect(device.online).toBe(true)
    expect(device.connectable).toBe(true)
    expect(device.last_active).toEqual(new Date('2026-01-02T05:00:00.000Z'))
    ws.push({ event: 'presence', data: { id: 'dev-2', present: false } })
    ws.push({ event: 'device', data: deviceJson({ custom_data: { plan: 'gold' }, online: true }) })
    expect(device.custom_data).toEqual({ plan: 'gold' })
    ws.push({ event: 'presence', data: { id: 'dev-1', present: false, last_seen: '2026-01-02T05:01:00.000Z' } })
    expect(device.online).toBe(false)
    expect(device.connectable).toBe(false)
    expect(seen).toEqual([true, true, false])
  })

  test('subscriptions share one socket; it closes when the last one goes, not before', async () => {
    const s = setup()
    const one = await s.tandem.sessions.get('sess-1')
    const two = await s.tandem.sessions.get('sess-2')
    const device = await s.tandem.devices.get('dev-1')
    const ws = await subscribed(s, one)
    await subscribed(s, two, ws)
    await subscribed(s, device, ws)
    expect(s.sockets).toHaveLength(1)
    expect(ws.sent.map((f) => [f.event, f.data])).toEqual([
      ['subscribe', 'control-1'],
      ['subscribe', 'control-2'],
      ['subscribe', 'notify-1'],
      ['sync-presence', 'dev-1']
    ])
    one.unsubscribe()
    device.unsubscribe()
    expect(ws.closedWith).toBeUndefined()
    let twoUpdates = 0
    let oneUpdates = 0
    two.on('updated', () => { twoUpdates += 1 })
    one.on('updated', () => { oneUpdates += 1 })
    ws.push({ event: 'session', data: sessionJson({ custom_data: { late: true } }) })
    ws.push({ event: 'session', data: sessionJson({ id: 'sess-2', control_token: 'control-2', custom_data: { n: 2 } }) })
    expect(oneUpdates).toBe(0)
    expect(twoUpdates).toBe(1)
    two.unsubscribe()
    expect(ws.closedWith).toBe(1000)
    await settle()
    expect(s.sockets).toHaveLength(1)
  })

  test('the same session object subscribed twice sends one subscription', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const first = session.subscribe()
    const second = session.subscribe()
    await settle()
    s.sockets[0].accept()
    s.sockets[0].ackAll()
    await Promise.all([first, second])
    expect(s.sockets[0].sent).toHaveLength(1)
  })

  test('after the connection drops it reconnects with backoff and subscribes everything again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const device = await s.tandem.devices.get('dev-1')
    const first = await subscribed(s, session)
    await subscribed(s, device, first)

    first.drop(1006)
    await settle()
    expect(s.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(s.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await settle()
    expect(s.sockets).toHaveLength(2)
    const second = s.sockets[1]
    second.accept()
    // ids restart at 1 on a new connection
    expect(second.sent).toEqual([
      { event: 'subscribe', id: 1, data: 'control-1' },
      { event: 'subscribe', id: 2, data: 'notify-1' },
      { event: 'sync-presence', id: 3, data: 'dev-1' }
    ])
    // the cached credentials are reused: /users/me was read once
    expect(s.calls.filter((c) => c.url.pathname === '/api/1/users/me')).toHaveLength(1)

    let updates = 0
    session.on('updated', () => { updates += 1 })
    second.push({ event: 'session', data: sessionJson({ custom_data: { after: 'reconnect' } }) })
    expect(updates).toBe(1)

    // a socket that cannot even open backs off further
    second.drop(1006)
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    s.sockets[2].drop(1006)
    await settle()
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(s.sockets).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(Math.ceil(600 ** 1.2) - 1000)
    await settle()
    expect(s.sockets).toHaveLength(4)
    session.unsubscribe()
    device.unsubscribe()
    expect(s.sockets[3].closedWith).toBe(1000)
  })

  test('after unsubscribing, a dropped socket is not reopened', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const ws = await subscribed(s, session)
    session.unsubscribe()
    ws.drop(1006)
    await vi.advanceTimersByTimeAsync(120_000)
    await settle()
    expect(s.sockets).toHaveLength(1)
  })

  test('a ping goes out every 60 s while the socket is open', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const ws = await subscribed(s, session)
    await vi.advanceTimersByTimeAsync(59_999)
    expect(ws.sent.filter((f) => f.event === 'ping')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(ws.sent.at(-1)).toEqual({ event: 'ping' })
    await vi.advanceTimersByTimeAsync(120_000)
    expect(ws.sent.filter((f) => f.event === 'ping')).toHaveLength(3)
    session.unsubscribe()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(ws.sent.filter((f) => f.event === 'ping')).toHaveLength(3)
  })

  test('a refused subscription rejects subscribe() and is dropped', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const done = session.subscribe()
    await settle()
    const ws = s.sockets[0]
    ws.accept()
    ws.push({ event: 'error', data: { id: 'invalid_token', message: 'no session or device of this account has that token', ref: 1 } })
    const error = await done.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({ id: 'invalid_token' })
    expect(ws.closedWith).toBe(1000)
  })

  test('an expired JWT: subscribe() rejects, error is emitted, nothing reconnects until a new token', async () => {
    const s = setup()
    s.me.status = 401
    s.me.value = { id: 'token_expired', message: 'jwt expired' }
    const errors: APIError[] = []
    s.tandem.on('error', (e) => errors.push(e))
    const session = await s.tandem.sessions.get('sess-1')
    const error = await session.subscribe().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenExpiredError)
    expect(errors).toEqual([error])
    expect(s.sockets).toHaveLength(0)

    // once subscribed, an expiry at reconnect time pauses the socket until the token changes
    s.me.status = 200
    s.me.value = ME
    s.tandem.token = 'jwt-new'
    const ws = await subscribed(s, session)
    s.me.status = 401
    s.me.value = { id: 'token_expired', message: 'jwt expired' }
    s.tandem.token = 'jwt-old' // drops the cached credentials
    ws.drop(4001)
    await new Promise((resolve) => setTimeout(resolve, 1600))
    await settle()
    expect(s.sockets).toHaveLength(1)
    expect(errors).toHaveLength(2)
    expect(errors[1]).toBeInstanceOf(TokenExpiredError)
    s.me.status = 200
    s.me.value = ME
    s.tandem.token = 'jwt-fresh'
    await settle()
    expect(s.sockets).toHaveLength(2)
    s.sockets[1].accept()
    expect(s.sockets[1].sent).toEqual([{ event: 'subscribe', id: 1, data: 'control-1' }])
    session.unsubscribe()
  })

  test('any call that finds the JWT expired closes the socket until a new token is set', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const ws = await subscribed(s, session)
    s.me.status = 401
    s.me.value = { id: 'token_expired', message: 'jwt expired' }
    await expect(s.tandem.users.current()).rejects.toBeInstanceOf(TokenExpiredError)
    expect(ws.closedWith).toBe(1000)
    // subscribing meanwhile fails at once, without a request
    const other = await s.tandem.sessions.get('sess-2')
    const calls = s.calls.length
    await expect(other.subscribe()).rejects.toBeInstanceOf(TokenExpiredError)
    expect(s.calls.length).toBe(calls)

    s.me.status = 200
    s.me.value = ME
    s.tandem.token = 'jwt-new'
    await settle()
    expect(s.sockets).toHaveLength(2)
    s.sockets[1].accept()
    expect(s.sockets[1].sent).toEqual([{ event: 'subscribe', id: 1, data: 'control-1' }])
    session.unsubscribe()
    expect(s.sockets[1].closedWith).toBe(1000)
  })

  test('a socket that fails before acknowledging rejects subscribe()', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const done = session.subscribe()
    await settle()
    s.sockets[0].drop(1006)
    await expect(done).rejects.toMatchObject({ id: 'socket_closed' })
    await vi.advanceTimersByTimeAsync(120_000)
    await settle()
    expect(s.sockets).toHaveLength(1)
  })

  test('disconnect() closes the socket and drops every subscription', async () => {
    const s = setup()
    const session = await s.tandem.sessions.get('sess-1')
    const ws = await subscribed(s, session)
    s.tandem.disconnect()
    expect(ws.closedWith).toBe(1000)
    // subscribing again opens a new socket
    await subscribed(s, session)
    expect(s.sockets).toHaveLength(2)
    s.tandem.disconnect()
  })

  test('without a WebSocket in the runtime, subscribe() says so', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions/sess-1': { json: sessionJson() } })
    vi.stubGlobal('WebSocket', undefined)
    try {
      const tandem = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
      const session = await tandem.sessions.get('sess-1')
      await expect(session.subscribe()).rejects.toMatchObject({ id: 'no_websocket' })
    } finally {
      vi.unstubAllGlobals()
    }
  })

  test('a WebSocket constructor that throws fails subscribe() with socket_failed', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions/sess-1': { json: sessionJson() }, 'GET /api/1/users/me': { json: ME } })
    class Refusing {
      constructor () { throw new SyntaxError('Invalid Sec-WebSocket-Protocol value') }
    }
    const tandem = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch, WebSocket: Refusing as unknown as typeof WebSocket })
    const session = await tandem.sessions.get('sess-1')
    await expect(session.subscribe()).rejects.toMatchObject({ id: 'socket_failed' })
  })

  test('the global WebSocket is used when none is passed', async () => {
    const ws = fakeWebSocket()
    vi.stubGlobal('WebSocket', ws.WebSocket)
    try {
      const net = fakeFetch({ 'GET /api/1/sessions/sess-1': { json: sessionJson() }, 'GET /api/1/users/me': { json: ME } })
      const tandem = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
      const session = await tandem.sessions.get('sess-1')
      const done = session.subscribe()
      await settle()
      expect(ws.sockets).toHaveLength(1)
      session.unsubscribe()
      await done
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
