// The packages read and write through the wire rules: the web SDK's socket drops and reports a
// frame that breaks them and refuses to send what they forbid; the viewer loses a chunked event
// whose joined bytes break them. (The agent SDK's socket: packages/agent/test/wire.test.ts.)
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import frames from '../../../../tests/security/frames.json'
import { Chunks } from '../../viewer/src/chunks'
import { Socket, type SocketProblem } from '../../web/src/socket'
import { decodeData, decodeFrame, encodeData } from '../src/index'
import { fromHex } from './hex'

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

  constructor (readonly url: string, readonly protocols: string[]) {
    FakeWebSocket.last = this
  }

  send (frame: Uint8Array): void { this.sent.push(frame) }
  close (): void { this.readyState = 3 }
  open (): void { this.readyState = 1; this.onopen?.() }
  receive (bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })
  }
}

describe('the web SDK socket', () => {
  const realWebSocket = globalThis.WebSocket
  let events: Array<[string, unknown]>
  let problems: SocketProblem[]
  let socket: Socket
  let ws: FakeWebSocket

  beforeEach(() => {
    ;(globalThis as any).WebSocket = FakeWebSocket
    events = []
    problems = []
    socket = new Socket('ws://tandem.test/sockets/1/ws', 'token', (event, data) => events.push([event, data]), {
      onProblem: (problem) => problems.push(problem)
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

  test('a frame that plain cbor-x reads as control (a shared reference) does not reach the page', () => {
    const attack = cases.find((c) => c.name.startsWith('shared reference: data holds tag 28'))
    expect(attack).toBeDefined()
    ws.receive(fromHex(attack!.hex))
    expect(events).toEqual([])
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
  })

  test('an event holding what frames may not carry is not sent, and reported', () => {
    expect(socket.send('message', { when: new Date() })).toBe(false)
    expect(ws.sent).toEqual([])
    expect(problems).toMatchObject([{ id: 'event_unsendable', event: 'message' }])
  })
})

describe('the viewer joining chunks', () => {
  const take = (chunks: Chunks, body: Uint8Array): unknown => {
    const half = Math.ceil(body.length / 2)
    chunks.take({ event: 'rrweb', series: 1, seq: 0, of: 2, bytes: body.subarray(0, half) })
    return chunks.take({ event: 'rrweb', series: 1, seq: 1, of: 2, bytes: body.subarray(half) })
  }

  test('joined bytes under the rules make the event', () => {
    const data = { type: 2, data: { node: { id: 1, childNodes: [] } } }
    expect(take(new Chunks(), encodeData(data))).toEqual({ kind: 'event', event: 'rrweb', data })
  })

  test.each([
    ['a shared reference', 'a2 6474797065 d81c 02 6464617461 d81d 00'],
    ['a repeated key', 'a2 6474797065 02 6474797065 03'],
    ['an indefinite-length map', 'bf 6474797065 02 ff'],
    ['a second item after the data', 'a1 6474797065 02 a0']
  ])('joined bytes with %s lose the event', (_name, hex) => {
    expect(take(new Chunks(), fromHex(hex))).toEqual({ kind: 'lost', event: 'rrweb' })
  })
})
