// The viewer's first calls and its stream, started by viewer-boot.js (prefetch.ts): taken by the
// same call only.
import { bearerProtocols, CborSocket, type Frame } from '@tandem/core'
import { encodeFrame } from '@tandem/wire'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { openSocket, prefetched, prefetchedSocket, start, tookSocket } from '../src/prefetch.js'

describe('calls started before viewer.js runs', () => {
  afterEach(() => { vi.restoreAllMocks(); vi.unstubAllGlobals() })

  test('the same call takes the started one; ending the session, a PUT to the same URL, does not', async () => {
    const fetched: string[] = []
    vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
      fetched.push(`${init?.method ?? 'GET'} ${url} ${String(init?.body ?? '')}`)
      return new Response(String(init?.body ?? ''))
    }))
    const url = 'https://tandem.example/api/1/sessions/s1'
    const joined = start('PUT', url, { body: JSON.stringify({ agent: 'me' }) })
    const ended = await prefetched(url, { method: 'PUT', body: JSON.stringify({ state: 'ended' }) })
    expect(await ended.text()).toBe('{"state":"ended"}')
    expect(await prefetched(url, { method: 'PUT', body: JSON.stringify({ agent: 'me' }) })).toBe(await joined)
    // Taken once: the next join goes out.
    await prefetched(url, { method: 'PUT', body: JSON.stringify({ agent: 'me' }) })
    expect(fetched).toHaveLength(3)
  })

  test('a call started long ago is not taken: its answer may be stale', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('fresh')))
    const url = 'https://tandem.example/api/1/sessions/s2/tokens'
    let now = 1000
    vi.spyOn(performance, 'now').mockImplementation(() => now)
    const old = start('GET', url, {})
    now += 11_000
    const got = await prefetched(url, {})
    expect(got).not.toBe(await old)
  })
})

/** A WebSocket as the browser's behaves for these tests: events, `on…` handlers, what it sent. */
class FakeSocket extends EventTarget {
  static made: FakeSocket[] = []
  readyState = 0
  binaryType = 'blob'
  sent: Uint8Array[] = []
  closed = false
  onopen: ((e: Event) => void) | null = null
  onmessage: ((e: MessageEvent) => void) | null = null
  onclose: ((e: Event) => void) | null = null
  onerror: ((e: Event) => void) | null = null

  constructor (readonly url: string, readonly protocols: string[]) {
    super()
    FakeSocket.made.push(this)
    for (const type of ['open', 'message', 'close', 'error'] as const) {
      this.addEventListener(type, (e) => (this as any)[`on${type}`]?.(e))
    }
  }

  send (bytes: Uint8Array): void { this.sent.push(bytes) }
  close (): void { this.closed = true }
  /** The server accepts the socket. */
  accept (): void { this.readyState = 1; this.dispatchEvent(new Event('open')) }
  /** A frame from the server. */
  hear (frame: Frame): void {
    const bytes = encodeFrame(frame)
    this.dispatchEvent(new MessageEvent('message', { data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }))
  }
}

describe('the stream opened before viewer.js runs', () => {
  const url = 'wss://tandem.example/sockets/1/ws'
  beforeEach(() => { FakeSocket.made = []; vi.stubGlobal('WebSocket', FakeSocket) })
  afterEach(() => { vi.useRealTimers(); vi.unstubAllGlobals() })

  /** The viewer's socket client for `token`, taking the held stream as viewer.ts's does. */
  const client = (token: string, heard: Frame[], opened: boolean[]): CborSocket => new CborSocket({
    endpoint: () => ({ url, token }),
    delay: () => 1000,
    WebSocket: () => prefetchedSocket,
    onOpen: (reconnected) => opened.push(reconnected),
    onFrame: (frame) => heard.push(frame)
  })

  test('asks for the page as it opens; viewer.ts takes it with everything it heard, in order, once', async () => {
    openSocket(url, bearerProtocols('stream-token'))
    const [held] = FakeSocket.made
    expect(held.url).toBe(`${url}?catch_up=1`)
    expect(held.binaryType).toBe('arraybuffer')
    held.accept()
    expect(held.sent).toEqual([])
    held.hear({ event: 'rrweb-z', data: new Uint8Array([1]) })
    held.hear({ event: 'session', data: { state: 'active' } })

    const heard: Frame[] = []
    const opened: boolean[] = []
    await client('stream-token', heard, opened).connect()
    expect(FakeSocket.made).toHaveLength(1)
    expect(tookSocket()).toBe(true)
    // Played to the client's handlers once they are set: the open, then each frame.
    await Promise.resolve()
    expect(opened).toEqual([false])
    expect(heard.map((f) => f.event)).toEqual(['rrweb-z', 'session'])
    held.hear({ event: 'alive', data: {} })
    expect(heard.map((f) => f.event)).toEqual(['rrweb-z', 'session', 'alive'])
  })

  test('a stream for another token is not taken: it is closed and a new one made', async () => {
    openSocket(url, bearerProtocols('old-token'))
    const [held] = FakeSocket.made
    held.accept()
    await client('new-token', [], []).connect()
    expect(tookSocket()).toBe(false)
    expect(held.closed).toBe(true)
    expect(FakeSocket.made).toHaveLength(2)
    expect(FakeSocket.made[1].protocols).toEqual(bearerProtocols('new-token'))
  })

  test('a stream nobody takes is closed after 10 s: no agent counts as watching who is not there', () => {
    vi.useFakeTimers()
    openSocket(url, bearerProtocols('t'))
    const [held] = FakeSocket.made
    vi.advanceTimersByTime(9_000)
    expect(held.closed).toBe(false)
    vi.advanceTimersByTime(1_001)
    expect(held.closed).toBe(true)
  })
})
