// Pointer moves in their compact form (@tandem/core's pointers.ts): what the page's Zip sends
// (zip.ts), the viewer's Recording plays back as exactly the events the recorder gave it, as
// JSON would have carried them, whatever the numbers, sources and shapes.
import { describe, expect, test } from 'vitest'
import { packEvents, PACKED, unpackEvents } from '@tandem/core'
import { Zip, ZIPPED } from '../../web/src/zip.js'
import { Recording, unzip } from '../src/unzip.js'

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1)) }

/** What JSON carries of `events` (NaN as null, -0 as 0, undefined keys dropped). */
const asJson = (events: unknown[]): unknown => JSON.parse(JSON.stringify(events))

const T = 1_796_041_972_755
type Position = { x: number, y: number, id: number, timeOffset: number }
const pos = (x: number, y: number, id: number, timeOffset = 0): Position => ({ x, y, id, timeOffset })
const moves = (source: number, timestamp: number, ...positions: Position[]): unknown =>
  ({ type: 3, data: { source, positions }, timestamp })

/**
 * The events, sent through a page's Zip and read back by a viewer's Recording: all in one task
 * (the moves held until the end), or with `eachAlone` each in a task of its own.
 */
async function roundTrip (events: unknown[], eachAlone = false): Promise<{ played: unknown[], frames: Array<[string, any]> }> {
  const frames: Array<[string, any]> = []
  const played: unknown[] = []
  const failed: Error[] = []
  const recording = new Recording((e) => played.push(e), (e) => failed.push(e))
  const zip = new Zip((event, data) => {
    frames.push([event, data])
    if (event === ZIPPED) recording.zipped(data)
    else recording.plain(data)
  }, { pointerWindowMs: eachAlone ? 0 : 10_000 })
  for (const e of events) {
    zip.push(e)
    // The task ends: what it recorded goes.
    if (eachAlone) await Promise.resolve()
  }
  zip.flush()
  await settle()
  expect(failed).toEqual([])
  return { played, frames }
}

/** Every edge the form has to carry: each batch also goes through packEvents alone. */
const EDGES: Array<[string, unknown[]]> = [
  ['a lone mouse move', [moves(1, T, pos(217, 378, 55))]],
  ['touch and drag among mouse moves', [moves(1, T, pos(1, 2, 3)), moves(6, T + 16, pos(40, 50, 3)), moves(12, T + 33, pos(41, 52, 9, -12))]],
  ['negative and huge coordinates', [moves(1, T, pos(-5, -70_000, 4), pos(2 ** 40, -(2 ** 45), 4), pos(2 ** 50, -(2 ** 50), 4))]],
  ['numbers past 2^50 (doubles, or JSON for an id)', [moves(1, T, pos(2 ** 51, 1, 1)), moves(1, T + 1, pos(1, 1, Number.MAX_SAFE_INTEGER))]],
  ['many ids, far apart and negative', [moves(1, T, ...Array.from({ length: 40 }, (_, i) => pos(i, -i, (i * 7919) % 100_003 - 50, i - 20)))]],
  ['the same id all along, offsets all zero', [moves(1, T, pos(1, 1, 8), pos(2, 2, 8)), moves(1, T + 50, pos(3, 3, 8))]],
  ['rrweb\'s own batching: negative time offsets', [moves(1, T, pos(10, 10, 1, -450), pos(20, 20, 1, -300), pos(30, 30, 2, 0))]],
  ['fractional touch positions (float mode), -0 and its neighbours', [moves(6, T, pos(123.456, 7.25, 2, 0.5), pos(-0, 1e-9, 2, -0)), moves(6, T + 8, pos(3, 4, 2))]],
  ['non-finite numbers go as JSON (null), beside moves that pack', [moves(1, T, pos(NaN, 1, 1)), moves(1, T + 1, pos(Infinity, 1, 1)), moves(1, T + 2, pos(1, 1, 1))]],
  ['empty, 7 and 8 positions', [moves(1, T), moves(1, T + 1, ...Array.from({ length: 7 }, (_, i) => pos(i, i, i))), moves(12, T + 2, ...Array.from({ length: 8 }, (_, i) => pos(i, i, 1)))]],
  ['timestamps out of order, and at 0', [moves(1, T + 500, pos(1, 1, 1)), moves(1, T, pos(2, 2, 2)), moves(1, 0, pos(3, 3, 3))]],
  ['shapes that are not rrweb\'s go as JSON', [
    { type: 3, data: { positions: [pos(1, 1, 1)], source: 1 }, timestamp: T },
    { type: 3, data: { source: 1, positions: [{ y: 1, x: 1, id: 1, timeOffset: 0 }] }, timestamp: T },
    { type: 3, data: { source: 1, positions: [{ ...pos(1, 1, 1), extra: true }] }, timestamp: T },
    { type: 3, data: { source: 1, positions: [pos(1, 1, 1)] }, timestamp: T, delay: 4 },
    { type: 3, data: { source: 2, type: 1, id: 7, x: 1, y: 1 }, timestamp: T },
    moves(1, -1, pos(1, 1, 1)),
    moves(1, T + 0.5, pos(1, 1, 1)),
    moves(1, T, pos(1, 1, 1.5))
  ]],
  ['other events between moves, with any text', [
    moves(1, T, pos(5, 5, 5)),
    { type: 3, data: { source: 0, texts: [{ id: 9, value: 'crème brûlée ✓ 🙂 \u0000 "quoted"' }], attributes: [], removes: [], adds: [] }, timestamp: T + 3 },
    { type: 3, data: { source: 3, id: 1, x: 0, y: 1200 }, timestamp: T + 4 },
    moves(1, T + 40, pos(6, 7, 5)),
    { type: 5, data: { tag: 'x', payload: null }, timestamp: T + 41 }
  ]]
]

describe('pointer moves in the compact form', () => {
  for (const [name, events] of EDGES) {
    test(`${name}: packed and unpacked, the same events`, () => {
      const packed = packEvents(events)
      expect(packed[0]).toBe(PACKED)
      expect(unpackEvents(packed)).toEqual(asJson(events))
    })

    test(`${name}: from the page's Zip to the viewer's replay, the same events`, async () => {
      const { played } = await roundTrip(events)
      expect(played).toEqual(asJson(events))
    })
  }

  test('moves go compressed in the compact form, far smaller than their JSON', async () => {
    const path = Array.from({ length: 300 }, (_, i) => moves(1, T + 67 * i, pos(200 + 35 * (i % 20), 300 + Math.round(120 * Math.sin(i / 3)), 50 + (i % 4))))
    const { played, frames } = await roundTrip(path, true)
    expect(frames).toHaveLength(path.length)
    expect(played).toEqual(path)
    expect(frames.every(([event]) => event === ZIPPED), 'even a lone move goes compact').toBe(true)
    const wire = frames.reduce((n, [, data]) => n + data.bytes.length, 0)
    expect(wire).toBeLessThan(JSON.stringify(path).length / 4)
  })

  test('the bytes are the ones the benchmark models (testkit/src/zipped.rs has the same test)', () => {
    const events = [
      moves(1, 1796041972755, pos(217, 378, 55)),
      moves(12, 1796041972700, pos(200, -5, 55, -3), pos(201, -4, 60)),
      { type: 5 },
      moves(6, 1796041972710, pos(1.5, 2, 60))
    ]
    const hex = [...packEvents(events)].map((b) => b.toString(16).padStart(2, '0')).join('')
    expect(hex).toBe('011493b8c6e3a234b203f4056e226d21fd05000502020a00030a7b2274797065223a357d9d14000000000000f83f0000000000000040')
  })

  test('a batch without pointer moves is still JSON, and plain when small', async () => {
    const scroll = { type: 3, data: { source: 3, id: 1, x: 0, y: 5 }, timestamp: T }
    const { frames } = await roundTrip([scroll])
    expect(frames).toEqual([['rrweb', scroll]])
  })

  test('a compact form the viewer cannot read is refused, saying why', async () => {
    const later = { codec: 'deflate-raw', types: [3], bytes: await deflate(new Uint8Array([PACKED + 1, 0])) }
    await expect(unzip(later)).rejects.toThrow(/version 2, which this viewer cannot read/)
    const cut = packEvents([moves(1, T, pos(1000, 1000, 1000))])
    await expect(unzip({ codec: 'deflate-raw', types: [3], bytes: await deflate(cut.subarray(0, cut.length - 1)) })).rejects.toThrow(/ends early/)
    const announced = { codec: 'deflate-raw', types: [2], bytes: await deflate(packEvents([moves(1, T, pos(1, 1, 1))])) }
    await expect(unzip(announced)).rejects.toThrow(/not the ones it announces/)
    expect(() => unpackEvents(new Uint8Array([PACKED, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/too large/)
  })
})

async function deflate (bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}
