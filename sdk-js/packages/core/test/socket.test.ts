// The socket client every package uses: frames under the wire rules (the shared set in
// tests/security/frames.json), reconnecting, final close codes, the send queue and frame ids.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import frames from '../../../../tests/security/frames.json'
import { decodeFrame } from '@tandem/wire'
import { APIError, CborSocket, Close, type Frame, type SocketOptions, bearerProtocols, doubling, encodeData, socketUrl } from '../src/index.js'

const cases = frames as Array<{ name: string, hex: string, verdict: string }>
const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16))

/** The sockets a CborSocket opened, each driven from the server's side. */
class FakeWebSocket {
  static made: FakeWebSocket[] = []
  readyState = 0
  binaryType = 'blob'
  sent: Frame[] = []
  closedWith: number | undefined
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  onerror: (() => void) | null = null

  constructor (readonly url: string, readonly protocols: string[]) {
    FakeWebSocket.made.push(this)
  }

  send (frame: Uint8Array): void { this.sent.push(decodeFrame(frame)) }
  close (code?: number): void { this.closedWith = code; this.readyState = 3 }
  accept (): void { this.readyState = 1; this.onopen?.() }
  receive (bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })
  }

  drop (code: number): void { this.readyState = 3; this.onclose?.({ code }) }
}

let received: Frame[]
let refused: Error[]

function socket (options: Partial<SocketOptions> = {}): CborSocket {
  return new CborSocket({
    endpoint: () => ({ url: 'ws://tandem.test/sockets/1/ws', token: 'tök' }),
    delay: () => 1000,
    WebSocket: () => FakeWebSocket as unknown as typeof WebSocket,
    onFrame: (frame) => received.push(frame),
    onRefused: (error) => refused.push(error),
    ...options
  })
}

const last = (): FakeWebSocket => FakeWebSocket.made.at(-1) as FakeWebSocket

beforeEach(() => {
  FakeWebSocket.made = []
  received = []
  refused = []
})

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('frames under the wire rules', () => {
  test('every refused frame of the shared set is dropped and reported; accepted ones pass', async () => {
    await socket().connect()
    last().accept()
    const refuse = cases.filter((c) => c.verdict === 'refuse')
    const accept = cases.filter((c) => c.verdict === 'accept')
    for (const c of refuse) last().receive(fromHex(c.hex))
    expect(received).toEqual([])
    expect(refused).toHaveLength(refuse.length)
    expect(refused[0].message).toMatch(/frame refused/)
    for (const c of accept) last().receive(fromHex(c.hex))
    expect(received).toHaveLength(accept.length)
    expect(refused).toHaveLength(refuse.length)
  })

  test('a frame that plain cbor-x reads as control (a shared reference) does not get through', async () => {
    const attack = cases.find((c) => c.name.startsWith('shared reference: data holds tag 28'))
    expect(attack).toBeDefined()
    await socket().connect()
    last().receive(fromHex(attack!.hex))
    expect(received).toEqual([])
    expect(refused).toHaveLength(1)
  })

  test('what it sends is a frame under the rules; what frames may not carry is refused before sending', async () => {
    const s = socket()
    await s.connect()
    last().accept()
    expect(s.send('pointer', { x: 1.5, nothing: undefined })).toBe(1)
    expect(s.send('sync')).toBe(2)
    expect(s.sendEncoded('rrweb', encodeData({ type: 2 }))).toBe(3)
    expect(last().sent).toEqual([
      { event: 'pointer', id: 1, data: { x: 1.5, nothing: undefined } },
      { event: 'sync', id: 2 },
      { event: 'rrweb', id: 3, data: { type: 2 } }
    ])
    expect(() => s.send('message', { when: new Date() })).toThrow(/frame refused/)
  })
})

describe('connecting', () => {
  test('the bearer subprotocol beside cbor, binary frames; the token never in the URL', async () => {
    await socket().connect()
    expect(last().url).toBe('ws://tandem.test/sockets/1/ws')
    expect(last().protocols).toEqual(bearerProtocols('tök'))
    expect(bearerProtocols('tök')).toEqual(['cbor', 'cbio.http.headers.authorization.bearer.dMO2aw'])
    expect(last().binaryType).toBe('arraybuffer')
  })

  test('socket URLs: sockets/1/ws under the base (its path kept), ws(s), with the query', () => {
    expect(socketUrl('https://x.test/base', { a: 'b c' })).toBe('wss://x.test/base/sockets/1/ws?a=b+c')
    expect(socketUrl(new URL('http://x.test/'))).toBe('ws://x.test/sockets/1/ws')
  })

  test('an endpoint that fails rejects connect() and tries no more; stop() abandons one in flight', async () => {
    const failing = socket({ endpoint: async () => { throw new APIError('no', { id: 'nope' }) } })
    await expect(failing.connect()).rejects.toMatchObject({ id: 'nope' })
    expect(failing.active).toBe(false)
    let release: (e: { url: string, token: string }) => void = () => {}
    const slow = socket({ endpoint: async () => await new Promise((resolve) => { release = resolve }) })
    const connecting = slow.connect()
    expect(slow.active).toBe(true)
    slow.stop()
    release({ url: 'ws://tandem.test/sockets/1/ws', token: 't' })
    await connecting
    expect(FakeWebSocket.made).toHaveLength(0)
    expect(slow.active).toBe(false)
  })

  test('a runtime that refuses the socket fails as socket_failed: thrown at once for an endpoint at hand', async () => {
    const Refusing = (class { constructor () { throw new SyntaxError('bad URL') } }) as unknown as typeof WebSocket
    const now = socket({ WebSocket: () => Refusing })
    expect(() => now.connect()).toThrow('could not open the socket: bad URL')
    expect(now.active).toBe(false)
    const later = socket({ WebSocket: () => Refusing, endpoint: async () => ({ url: 'ws://tandem.test/', token: 't' }) })
    await expect(later.connect()).rejects.toMatchObject({ id: 'socket_failed', message: 'could not open the socket: bad URL' })
  })
})

describe('reconnecting', () => {
  test('after a drop it asks for the endpoint again and reconnects after the delay; ids count per connection', async () => {
    vi.useFakeTimers()
    const opened: boolean[] = []
    const closed: number[] = []
    let asked = 0
    const s = socket({
      endpoint: () => { asked += 1; return { url: `ws://tandem.test/${asked}`, token: 't' } },
      delay: doubling(250, 10_000, false),
      onOpen: (again) => opened.push(again),
      onClose: (code) => closed.push(code)
    })
    await s.connect()
    last().accept()
    s.send('one')
    s.send('two')
    last().drop(Close.GOING_AWAY)
    expect(closed).toEqual([1001])
    expect(s.active).toBe(true)
    await vi.advanceTimersByTimeAsync(499)
    expect(FakeWebSocket.made).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeWebSocket.made).toHaveLength(2)
    expect(last().url).toBe('ws://tandem.test/2')
    last().accept()
    s.send('three')
    expect(last().sent).toEqual([{ event: 'three', id: 1 }])
    expect(opened).toEqual([false, true])
  })

  test('a final code stops it; so does stop() in onClose', async () => {
    vi.useFakeTimers()
    const s = socket({ final: [Close.SESSION_ENDED] })
    await s.connect()
    last().drop(Close.SESSION_ENDED)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeWebSocket.made).toHaveLength(1)
    expect(s.active).toBe(false)
    const t = socket({ onClose: () => t.stop() })
    await t.connect()
    last().drop(1006)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeWebSocket.made).toHaveLength(2)
  })

  test('a failed reconnect asks onFailure whether to go on', async () => {
    vi.useFakeTimers()
    let fail = false
    const failures: unknown[] = []
    const s = socket({
      endpoint: () => { if (fail) throw new Error('down'); return { url: 'ws://tandem.test/', token: 't' } },
      onFailure: (error) => { failures.push(error); return failures.length < 2 }
    })
    await s.connect()
    fail = true
    last().drop(1006)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(failures).toHaveLength(2)
    expect(s.active).toBe(false)
  })
})

describe('sending while closed', () => {
  test('with a queue, frames wait for the next socket; without, they are dropped', async () => {
    const queued = socket({ queue: true })
    queued.send('early', 1)
    await queued.connect()
    queued.send('later', 2)
    last().accept()
    expect(last().sent).toEqual([{ event: 'early', id: 1, data: 1 }, { event: 'later', id: 2, data: 2 }])
    const dropping = socket()
    dropping.send('early', 1)
    await dropping.connect()
    last().accept()
    expect(last().sent).toEqual([])
  })

  test('ping sends an id-less ping while open', async () => {
    vi.useFakeTimers()
    const s = socket({ ping: 60_000 })
    await s.connect()
    last().accept()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(last().sent).toEqual([{ event: 'ping' }, { event: 'ping' }])
    s.stop()
    expect(last().closedWith).toBe(1000)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(last().sent).toHaveLength(2)
  })
})
