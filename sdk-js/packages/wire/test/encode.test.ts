// What the SDKs send passes the rules they (and the relay) read with: encodeFrame's output for
// every kind of frame they write is accepted by decodeFrame and reads back the same.
import { encode } from 'cbor-x'
import { describe, expect, test } from 'vitest'
import { decodeData, decodeFrame, encodeData, encodeFrame, type Frame, FrameError, frameAround } from '../src/index.js'
import { toHex } from './hex.js'

/** A page snapshot shaped like rrweb's: nodes within nodes, attributes, text. */
function snapshot (nodes: number): unknown {
  const children = Array.from({ length: nodes }, (_, i) => ({
    type: 2,
    tagName: 'div',
    attributes: { class: `row r${i}`, 'data-i': String(i), style: 'color: red' },
    childNodes: [{ type: 3, textContent: `Row ${i}: some text é ✓ 😀`, id: i * 2 + 2 }],
    id: i * 2 + 1
  }))
  return { type: 2, data: { node: { type: 0, childNodes: [{ type: 2, tagName: 'body', attributes: {}, childNodes: children, id: 0 }], id: -1 }, initialOffset: { left: 0, top: 0 } }, timestamp: Date.now() }
}

const frames: Array<[string, Frame]> = [
  ['ping', { event: 'ping' }],
  ['pointer', { event: 'pointer', id: 3, data: { x: 10.5, y: 20, type: 'move' } }],
  ['rrweb, nested', { event: 'rrweb', id: 4, data: snapshot(50) }],
  ['chunk with Uint8Array bytes', { event: 'chunk', id: 5, data: { event: 'rrweb', series: 1, seq: 0, of: 3, bytes: new Uint8Array([0xa1, 0x61, 0x78, 0xff, 0x00]) } }],
  ['message with undefined values', { event: 'message', id: 6, data: { name: 'note', payload: undefined, nested: { a: undefined, b: [undefined, null] } } }],
  ['an object of 70,000 keys', { event: 'message', id: 7, data: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])) }],
  ['a long array and a long string', { event: 'message', id: 8, data: { list: Array.from({ length: 100_000 }, (_, i) => i % 7), text: 'x'.repeat(200_000) } }],
  ['floats, negatives, booleans, null', { event: 'sync', id: 2 ** 31, data: { a: -1, b: -(2 ** 40), c: 1e-7, d: NaN, e: Infinity, f: true, g: false, h: null } }],
  ['subscribe with a token', { event: 'subscribe', id: 1, data: 'tok_abc' }],
  ['acknowledgement', { ack: 9 }]
]

/** Byte strings read as a Buffer in Node and a Uint8Array in browsers: compared as plain Uint8Arrays. */
function plainBytes (value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (Array.isArray(value)) return value.map(plainBytes)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainBytes(v)]))
  return value
}

describe('encodeFrame writes frames decodeFrame reads back', () => {
  test.each(frames)('%s', (_name, frame) => {
    const bytes = encodeFrame(frame)
    expect(plainBytes(decodeFrame(bytes))).toStrictEqual(plainBytes(frame))
  })
})

test('chunk bytes go as a plain byte string (major type 2), not typed-array tag 64', () => {
  const bytes = new Uint8Array([1, 2, 3])
  const out = encodeFrame({ event: 'chunk', id: 1, data: { bytes } })
  // ... 65 "bytes" 43 010203: a byte string of three.
  expect(toHex(out)).toContain('6562797465734301020' + '3')
  const read = decodeFrame(out).data.bytes
  expect(read).toBeInstanceOf(Uint8Array)
  expect([...read]).toEqual([1, 2, 3])
  // cbor-x's own default, in Node, tags a Uint8Array: that is what the options are for.
  expect(() => decodeFrame(encode({ event: 'chunk', id: 1, data: { bytes } }))).toThrow(FrameError)
})

test('a chunked event: encodeData, cut, joined again, reads with decodeData', () => {
  const data = snapshot(2000)
  const body = encodeData(data)
  expect(body.length).toBeGreaterThan(64 * 1024)
  const parts: Uint8Array[] = []
  for (let at = 0; at < body.length; at += 32 * 1024) {
    const chunk = encodeFrame({ event: 'chunk', id: 1, data: { event: 'rrweb', series: 1, seq: parts.length, of: 0, bytes: body.subarray(at, at + 32 * 1024) } })
    parts.push(decodeFrame(chunk).data.bytes)
  }
  const joined = new Uint8Array(body.length)
  let at = 0
  for (const part of parts) { joined.set(part, at); at += part.length }
  expect(decodeData(joined)).toEqual(data)
})

test('frameAround wraps encoded data into a frame the rules accept', () => {
  const data = { x: 1, y: [2, 3] }
  const frame = frameAround('pointer', 12, encodeData(data))
  expect(decodeFrame(frame)).toEqual({ event: 'pointer', id: 12, data })
})

describe('what the rules refuse is not sent', () => {
  test.each([
    ['a Date', new Date(0)],
    ['a Set', new Set([1])],
    ['a Float32Array', new Float32Array([1])],
    ['an Error', new Error('x')],
    ['a Map with a number key', new Map([[1, 'a']])],
    ['a bigint past 64 bits', 2n ** 70n]
  ])('%s', (_name, value) => {
    expect(() => encodeFrame({ event: 'message', id: 1, data: { value } })).toThrow(FrameError)
    expect(() => encodeData({ value })).toThrow(FrameError)
  })
  test('a frame without event or ack', () => {
    expect(() => encodeFrame({ data: 1 })).toThrow(FrameError)
  })
})
