// A full snapshot written as JSON and compressed in slices (recorder/json.ts): the same bytes as
// JSON.stringify, whatever the pieces.
import { describe, expect, test } from 'vitest'
import { compressInSlices, JsonPieces } from '../src/recorder/json.js'

/** Every piece, each written with no time to spare (the fewest members a piece holds). */
function pieces (value: unknown, deadline = 0): string[] {
  const json = new JsonPieces(value)
  const out: string[] = []
  for (let piece = json.next(deadline); piece !== null; piece = json.next(deadline)) out.push(piece)
  return out
}

/** A serialised tree as the recorder makes it: `depth` levels of `width` elements, text in each. */
function tree (depth: number, width: number, id = { n: 1 }): any {
  const node: any = { type: 2, tagName: 'div', attributes: { class: 'a "quoted" \\ class', 'data-x': '\u2028é😀' }, childNodes: [], id: id.n++ }
  if (depth > 0) {
    for (let i = 0; i < width; i++) node.childNodes.push(tree(depth - 1, width, id))
    node.childNodes.push({ type: 3, textContent: 'text\n\t</script>', id: id.n++, rootId: undefined })
  }
  if (id.n % 3 === 0) node.isSVG = true
  return node
}

describe('the snapshot as JSON, in pieces', () => {
  test('the pieces joined are JSON.stringify of the batch, and a large tree comes in many pieces', () => {
    const batch = [
      { type: 4, data: { href: 'https://shop.example/', width: 1024, height: 768 }, timestamp: 1 },
      { type: 2, data: { node: { type: 0, childNodes: [tree(6, 4)], id: 1 }, initialOffset: { left: 0, top: 0 } }, timestamp: 2 }
    ]
    const parts = pieces(batch, Infinity)
    expect(parts.join('')).toBe(JSON.stringify(batch))
    expect(parts.length, 'a piece holds about 64K characters').toBeGreaterThan(JSON.stringify(batch).length / (80 * 1024))
    expect(pieces(batch).join('')).toBe(JSON.stringify(batch))
  })

  test('what JSON.stringify leaves out or writes as null, and its other values, are written the same', () => {
    const value = [
      undefined, () => 1, Symbol('s'), NaN, -Infinity, -0, 1e21, true, false, null, '', 'a\u0000b',
      { a: undefined, b: () => 1, c: [undefined, NaN], d: new Date(0), e: { toJSON: () => 'x' }, f: new Map([[1, 2]]), g: new Uint8Array([1, 2]) },
      { deep: { deeper: { deepest: { childNodes: [{ x: [1, { y: undefined }] }] } } } },
      Object.assign(Object.create(null), { nullProto: 1 }),
      [[[[]]]], {}
    ]
    expect(pieces(value).join('')).toBe(JSON.stringify(value))
    for (const one of [1, 'a', null, true, { a: 1 }, []]) expect(pieces(one).join('')).toBe(JSON.stringify(one))
  })

  test('a cycle is refused, as JSON.stringify refuses it', () => {
    const node: any = { type: 2, childNodes: [] }
    node.childNodes.push({ type: 2, childNodes: [node] })
    expect(() => pieces([node])).toThrow(TypeError)
  })

  test('compressed in slices, it inflates to the same JSON', async () => {
    const batch = [{ type: 2, data: { node: tree(5, 5), initialOffset: { left: 0, top: 3 } }, timestamp: 2 }]
    const bytes = await compressInSlices(batch, 'deflate-raw')
    const text = await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'))).text()
    expect(text).toBe(JSON.stringify(batch))
  })

  test('a string longer than a piece is compressed in parts, characters outside the BMP whole', async () => {
    // After `["a`, each emoji's first half is at an odd index: 65,535 is one.
    const batch = ['a' + '😀'.repeat(100_000) + 'é'.repeat(70_000)]
    const bytes = await compressInSlices(batch, 'gzip')
    const text = await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
    expect(text).toBe(JSON.stringify(batch))
  })

  test('a batch that cannot be written rejects', async () => {
    const node: any = { childNodes: [] }
    node.childNodes.push(node)
    await expect(compressInSlices([node], 'deflate-raw')).rejects.toThrow(TypeError)
  })
})
