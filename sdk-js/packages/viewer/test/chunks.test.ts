// The viewer loses a chunked event whose joined bytes break the wire rules.
import { encodeData } from '@tandem/wire'
import { describe, expect, test } from 'vitest'
import { Chunks } from '../src/chunks.js'

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16))

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
