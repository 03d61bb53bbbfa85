// How much the wire rules add to reading a large page snapshot (the viewer joins up to 32 MB):
//
//   npx --prefix sdk-js vitest bench --run --root sdk-js/packages/wire
import { decode, encode } from 'cbor-x'
import { bench, describe } from 'vitest'
import { checkData } from '../src/rules.js'
import { decodeData, encodeData } from '../src/index.js'

/** An rrweb full snapshot of about `bytes` bytes: nested elements, attributes, text, some non-ASCII. */
function snapshot (bytes: number): unknown {
  const rows: unknown[] = []
  const body = { type: 2, tagName: 'body', attributes: {}, childNodes: rows, id: 3 }
  let id = 4
  while (rows.length * 330 < bytes) {
    rows.push({
      type: 2,
      tagName: 'div',
      attributes: { class: `row row-${id % 17}`, 'data-id': String(id), style: 'display: flex; gap: 4px' },
      childNodes: [
        { type: 2, tagName: 'span', attributes: { title: 'Prix: 12,50 €' }, childNodes: [{ type: 3, textContent: `Item ${id} — déjà vu ✓`, id: id + 1 }], id: id + 2 },
        { type: 2, tagName: 'a', attributes: { href: `https://example.com/p/${id}` }, childNodes: [{ type: 3, textContent: 'Open', id: id + 3 }], id: id + 4 }
      ],
      id
    })
    id += 5
  }
  return { type: 2, data: { node: { type: 0, childNodes: [{ type: 2, tagName: 'html', attributes: {}, childNodes: [body], id: 2 }], id: 1 }, initialOffset: { left: 0, top: 0 } }, timestamp: 1700000000000 }
}

const data = snapshot(5 * 1024 * 1024)
const bytes = encodeData(data)
if (bytes.length < 5 * 1024 * 1024) throw new Error(`only ${bytes.length} bytes`)
console.log(`snapshot: ${(bytes.length / 1024 / 1024).toFixed(2)} MB`)

describe(`a ${(bytes.length / 1024 / 1024).toFixed(1)} MB snapshot`, () => {
  bench('cbor-x decode (before)', () => { decode(bytes) })
  bench('rules check alone', () => { checkData(bytes) })
  bench('decodeData: check, then decode', () => { decodeData(bytes) })
  bench('cbor-x encode (before)', () => { encode(data) })
  bench('encodeData: encode, then check', () => { encodeData(data) })
}, )
