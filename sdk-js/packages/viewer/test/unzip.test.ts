// The viewer plays the recording's plain events and compressed batches in the order they were
// sent, and reports a batch that does not decompress instead of dropping it silently.
import { describe, expect, test } from 'vitest'
import { decompress, delays, Recording, unzip } from '../src/unzip.js'

async function deflate (text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const batch = async (events: Array<{ type: number }>): Promise<unknown> =>
  ({ codec: 'deflate-raw', types: events.map((e) => e.type), bytes: await deflate(JSON.stringify(events)) })

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1)) }

describe('the viewer reading the recording', () => {
  test('plain events wait for the batch before them; all play in order', async () => {
    const played: unknown[] = []
    const failed: Error[] = []
    const r = new Recording((e) => played.push(e), (e) => failed.push(e))
    r.plain({ type: 4, n: 0 })
    expect(played, 'nothing pending: played at once').toEqual([{ type: 4, n: 0 }])
    r.zipped(await batch([{ type: 2 }, { type: 3 }]))
    r.plain({ type: 3, n: 3 })
    r.zipped(await batch([{ type: 3 }]))
    await settle()
    expect(played).toEqual([{ type: 4, n: 0 }, { type: 2 }, { type: 3 }, { type: 3, n: 3 }, { type: 3 }])
    expect(failed).toEqual([])
  })

  test('a batch that does not decompress is reported, and what follows still plays', async () => {
    const played: unknown[] = []
    const failed: Error[] = []
    const r = new Recording((e) => played.push(e), (e) => failed.push(e))
    r.zipped({ codec: 'deflate-raw', types: [3], bytes: new Uint8Array([1, 2, 3, 4, 5]) })
    r.plain({ type: 3, n: 1 })
    await settle()
    expect(failed).toHaveLength(1)
    expect(played).toEqual([{ type: 3, n: 1 }])
  })

  test('a batch must hold the events it announces, in a codec the viewer knows', async () => {
    const good = await batch([{ type: 3 }]) as any
    await expect(unzip({ ...good, types: [2] })).rejects.toThrow(/not the ones it announces/)
    await expect(unzip({ ...good, codec: 'brotli' })).rejects.toThrow(/codec, types, bytes/)
    await expect(unzip({ ...good, bytes: await deflate('{"type": 3}') })).rejects.toThrow(/not the ones/)
    expect(await unzip(good)).toEqual([{ type: 3 }])
  })

  test('decompression stops at its bound (a small batch that would inflate to gigabytes)', async () => {
    const bomb = await deflate('['.concat('0,'.repeat(100_000), '0]'))
    await expect(decompress(bomb, 'deflate-raw', 10_000)).rejects.toThrow(/more than 10000 bytes/)
  })

  test('what was pending when the stream reconnected is dropped, not played late', async () => {
    const played: unknown[] = []
    const r = new Recording((e) => played.push(e), () => {})
    r.zipped(await batch([{ type: 2 }]))
    r.reset()
    r.plain({ type: 4 })
    await settle()
    expect(played).toEqual([{ type: 4 }])
  })

  test('a batch of pointer moves held longer than 100 ms plays over the time it was recorded in; others at once', () => {
    const move = (t: number): unknown => ({ type: 3, data: { source: 1, positions: [] }, timestamp: t })
    expect(delays([move(100), move(150), move(400)])).toEqual([0, 50, 300])
    expect(delays([move(100), { type: 3, data: { source: 2 }, timestamp: 300 }])).toEqual([0, 0])
    expect(delays([move(100)])).toEqual([0])
    expect(delays([move(100), move(160), move(200)]), 'held no longer than zip.ts holds them: at once').toEqual([0, 0, 0])
  })
})
