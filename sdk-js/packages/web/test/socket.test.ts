// The web SDK's socket reads and writes through the wire rules: it drops and reports a frame
// that breaks them, refuses to send what they forbid, and sends large events in chunks. (The
// socket client under it: packages/core/test/socket.test.ts.)
import { decodeData, decodeFrame } from '@tandem/wire'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import frames from '../../../../tests/security/frames.json'
import { Socket, type SocketProblem } from '../src/socket.js'

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16))

const cases = frames as Array<{ name: string, hex: string, verdict: string }>

/** The one WebSocket the Socket under test opened, driven from the server's side. */
class FakeWebSocket {
  static readonly OPEN = 1
  static last: FakeWebSocket | null = null
  readyState = 0
  binaryType = 'blob'
  sent: Uint8Array[] = []
  onopen: (() => void) | null = null
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  onerror: (() => void) | null = null

  constructor (readonly url: string, readonly protocols: string[]) {
    FakeWebSocket.last = this
  }

  send (frame: Uint8Array): void { this.sent.push(frame) }
  close (): void { this.readyState = 3 }
  open (): void { this.readyState = 1; this.onopen?.() }
  receive (bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })
  }

  drop (code: number): void { this.readyState = 3; this.onclose?.({ code }) }
}

describe('the web SDK socket', () => {
  const realWebSocket = globalThis.WebSocket
  let events: Array<[string, unknown]>
  let problems: SocketProblem[]
  let socket: Socket
  let ws: FakeWebSocket

  let finalClose: number[]

  beforeEach(() => {
    ;(globalThis as any).WebSocket = FakeWebSocket
    events = []
    problems = []
    finalClose = []
    socket = new Socket('ws://tandem.test/sockets/1/ws', 'token', (event, data) => events.push([event, data]), {
      onProblem: (problem) => problems.push(problem),
      onFinalClose: (code) => finalClose.push(code)
    })
    ws = FakeWebSocket.last as FakeWebSocket
    ws.open()
  })

  afterEach(() => {
    socket.close()
    ;(globalThis as any).WebSocket = realWebSocket
  })

  test('drops every refused frame of the shared set, reporting frame_refused', () => {
    const refused = cases.filter((c) => c.verdict === 'refuse')
    for (const c of refused) ws.receive(fromHex(c.hex))
    expect(events).toEqual([])
    expect(problems.map((p) => p.id)).toEqual(refused.map(() => 'frame_refused'))
    expect(problems[0].message).toMatch(/frame refused/)
  })

  test('passes on the accepted frames that carry an event', () => {
    const accepted = cases.filter((c) => c.verdict === 'accept')
    for (const c of accepted) ws.receive(fromHex(c.hex))
    expect(problems).toEqual([])
    expect(events.length).toBe(accepted.filter((c) => 'event' in c).length)
  })

  test('what it sends passes the rules: small events, and large ones in chunks', () => {
    const small = { x: 10.5, y: 2, nothing: undefined }
    expect(socket.send('pointer', small)).toBe(true)
    const big = { type: 2, rows: Array.from({ length: 8000 }, (_, i) => ({ id: i, text: `row ${i} é`, attributes: { class: 'r' } })) }
    expect(socket.send('rrweb', big)).toBe(true)
    const read = ws.sent.map((f) => decodeFrame(f))
    expect(read[0]).toEqual({ event: 'pointer', id: 1, data: small })
    const chunks = read.slice(1)
    expect(chunks.length).toBeGreaterThan(2)
    expect(chunks.every((c) => c.event === 'chunk' && c.data.event === 'rrweb')).toBe(true)
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.data.bytes.length, 0))
    let at = 0
    for (const c of chunks) { joined.set(c.data.bytes, at); at += c.data.bytes.length }
    expect(decodeData(joined)).toEqual(big)
    // Each chunk with its WebSocket header (10 bytes at most) fits in 32 KiB: the relay keeps a
    // snapshot's chunks in allocations of that size, not of the next class up.
    const frames = ws.sent.slice(1)
    expect(Math.max(...frames.map((f) => f.length)) + 10).toBeLessThanOrEqual(32 * 1024)
    expect(frames[0].length).toBeGreaterThan(32 * 1024 - 256)
  })

  test('says every 30 s that the page is still there, so an unwatched session is not idle', () => {
    vi.useFakeTimers()
    try {
      const own = new Socket('ws://tandem.test/sockets/1/ws', 'token', () => {})
      const opened = FakeWebSocket.last as FakeWebSocket
      opened.open()
      vi.advanceTimersByTime(29_999)
      expect(opened.sent).toEqual([])
      vi.advanceTimersByTime(1)
      expect(opened.sent.map((f) => decodeFrame(f))).toEqual([{ event: 'ping' }])
      own.close()
    } finally {
      vi.useRealTimers()
    }
  })

  test('an event holding what frames may not carry is not sent, and reported', () => {
    expect(socket.send('message', { when: new Date() })).toBe(false)
    expect(ws.sent).toEqual([])
    expect(problems).toMatchObject([{ id: 'event_unsendable', event: 'message' }])
  })

  test('a message too big for the server is reported; credentials refused close it for good', () => {
    ws.drop(1009)
    expect(problems).toMatchObject([{ id: 'message_too_big' }])
    expect(finalClose).toEqual([])
    socket.close()
    socket = new Socket('ws://tandem.test/sockets/1/ws', 'token', () => {}, { onFinalClose: (code) => finalClose.push(code) })
    ;(FakeWebSocket.last as FakeWebSocket).drop(4001)
    expect(finalClose).toEqual([4001])
  })
})
