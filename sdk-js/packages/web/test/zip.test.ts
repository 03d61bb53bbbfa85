// The web SDK's compressed recording (zip.ts): what goes compressed, what goes plain, in order.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { PACKED, unpackEvents } from '@tandem/core'
import { compress, Zip, ZIPPED } from '../src/zip.js'

/** A batch's events: its JSON, or (a batch with pointer moves) its compact form. */
async function inflate (bytes: Uint8Array, codec = 'deflate-raw'): Promise<unknown> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream(codec as CompressionFormat))
  const inflated = new Uint8Array(await new Response(stream).arrayBuffer())
  return inflated[0] === PACKED ? unpackEvents(inflated) : JSON.parse(new TextDecoder().decode(inflated))
}

/** Every frame sent, with compressed batches read back into their events. */
async function read (sent: Array<[string, any]>): Promise<Array<[string, unknown]>> {
  return Promise.all(sent.map(async ([event, data]) =>
    event === ZIPPED ? [event, { types: data.types, events: await inflate(data.bytes, data.codec) }] : [event, data]))
}

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1)) }

const meta = { type: 4, data: { href: 'https://shop.example/', width: 1024, height: 768 }, timestamp: 1 }
const snapshot = { type: 2, data: { node: { id: 1, childNodes: [], text: 'basket '.repeat(200) } }, timestamp: 2 }
const move = (x: number): unknown => ({ type: 3, data: { source: 1, positions: [{ x, y: 5, id: 3, timeOffset: 0 }] }, timestamp: 10 + x })
const click = { type: 3, data: { source: 2, type: 2, id: 7, x: 1, y: 1 }, timestamp: 50 }

describe('the recording on the wire', () => {
  afterEach(() => { vi.useRealTimers() })

  test('a page start and its snapshot go as one compressed batch, smaller than their JSON', async () => {
    const sent: Array<[string, any]> = []
    const zip = new Zip((event, data) => sent.push([event, data]))
    zip.push(meta)
    zip.push(snapshot)
    await settle()
    expect(sent.map(([e]) => e)).toEqual([ZIPPED])
    expect(sent[0][1].codec).toBe('deflate-raw')
    expect(sent[0][1].bytes.length).toBeLessThan(JSON.stringify([meta, snapshot]).length / 5)
    expect(await read(sent)).toEqual([[ZIPPED, { types: [4, 2], events: [meta, snapshot] }]])
  })

  test('pointer moves wait for the window; anything else takes them along at once, in order', async () => {
    const sent: Array<[string, any]> = []
    const zip = new Zip((event, data) => sent.push([event, data]), { pointerWindowMs: 10_000, minBytes: 100 })
    zip.push(move(1))
    zip.push(move(2))
    await settle()
    expect(sent, 'held').toEqual([])
    zip.push(click)
    await settle()
    expect(await read(sent)).toEqual([[ZIPPED, { types: [3, 3, 3], events: [move(1), move(2), click] }]])
    const packed = new Uint8Array(await new Response(new Blob([sent[0][1].bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'))).arrayBuffer())
    expect(packed[0], 'moves go in the compact form').toBe(PACKED)
  })

  test('a lone pointer move goes compressed and compact, smaller than its plain frame', async () => {
    const sent: Array<[string, any]> = []
    const zip = new Zip((event, data) => sent.push([event, data]), { pointerWindowMs: 1 })
    zip.push(move(1))
    await settle()
    expect(await read(sent)).toEqual([[ZIPPED, { types: [3], events: [move(1)] }]])
    expect(sent[0][1].bytes.length).toBeLessThan(JSON.stringify(move(1)).length / 3)
  })

  test('a small batch goes as plain rrweb events, after the compressed one before it', async () => {
    const sent: Array<[string, any]> = []
    const zip = new Zip((event, data) => sent.push([event, data]))
    zip.push(meta)
    zip.push(snapshot)
    zip.flush()
    zip.push(click)
    await settle()
    expect((await read(sent)).map(([e]) => e)).toEqual([ZIPPED, 'rrweb'])
    expect(sent[1][1]).toEqual(click)
  })

  test('a new page never lands in the middle of a batch', async () => {
    const sent: Array<[string, any]> = []
    const zip = new Zip((event, data) => sent.push([event, data]), { minBytes: 0, pointerWindowMs: 0 })
    zip.push(click)
    zip.push(meta)
    zip.push(snapshot)
    await settle()
    expect(sent.map(([, d]) => d.types)).toEqual([[3], [4, 2]])
  })

  test('gzip, when asked for, reads back too', async () => {
    expect(await inflate(await compress('[1,2]', 'gzip'), 'gzip')).toEqual([1, 2])
  })
})
