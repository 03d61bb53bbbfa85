// Writes frames.json: the differential socket frames both the relay (Rust) and the SDKs (TypeScript)
// must refuse, or accept and read the same way. Every frame is built here byte by byte, so a
// frame means what its name says whatever CBOR library reads it.
//
//   node tests/security/frames.mjs        # rewrites tests/security/frames.json
//
// Entry format: {name, hex, verdict: 'refuse'} or {name, hex, verdict: 'accept', event?, ack?, data?}
// (`data` only where JSON can say it exactly; no undefined, byte strings or NaN).
import { writeFileSync } from 'node:fs'

const enc = new TextEncoder()

/** A head: major type and argument, in the shortest form (or `width` bytes of argument). */
function head (major, n, width) {
  const m = major << 5
  if (width === undefined) width = n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000 ? 4 : 8
  if (width === 0) return [m | n]
  const out = [m | { 1: 24, 2: 25, 4: 26, 8: 27 }[width]]
  const big = BigInt(n)
  for (let i = width - 1; i >= 0; i--) out.push(Number((big >> BigInt(8 * i)) & 0xffn))
  return out
}
const cat = (...parts) => parts.flat(Infinity)
const uint = (n, width) => head(0, n, width)
const nint = (n) => head(1, -1 - n)
const bstr = (bytes) => cat(head(2, bytes.length), ...bytes)
const tstr = (s, width) => { const b = [...enc.encode(s)]; return cat(head(3, b.length, width), b) }
const rawText = (bytes) => cat(head(3, bytes.length), bytes)
const arr = (...items) => cat(head(4, items.length), ...items)
/** A map from [key, value] pairs; keys are text unless already encoded (an array of bytes). */
const map = (...pairs) => cat(head(5, pairs.length), ...pairs.map(([k, v]) => [typeof k === 'string' ? tstr(k) : k, v]))
const tag = (n, item) => cat(head(6, n), item)
const FALSE = [0xf4]; const TRUE = [0xf5]; const NULL = [0xf6]; const UNDEFINED = [0xf7]
const half = (h) => [0xf9, h >> 8, h & 0xff]
const double = (x) => { const b = new Uint8Array(9); b[0] = 0xfb; new DataView(b.buffer).setFloat64(1, x); return [...b] }
const BREAK = 0xff

const ping = map(['event', tstr('ping')])
const control = map(['event', tstr('control')], ['data', map(['type', tstr('click')], ['x', uint(10)], ['y', uint(20)])])

/** `levels` nested arrays around 0, as the data of an `rrweb` frame. */
function deep (levels) {
  return cat(head(5, 2), tstr('event'), tstr('rrweb'), tstr('data'), new Array(levels).fill(0x81), 0x00)
}

const frames = []
const refuse = (name, bytes) => frames.push({ name, bytes, verdict: 'refuse' })
const accept = (name, bytes, read) => frames.push({ name, bytes, verdict: 'accept', ...read })

// Rule 4: duplicate keys (compared as decoded text), at the top and inside data.
refuse('duplicate event key: pointer then control', map(['event', tstr('pointer')], ['event', tstr('control')]))
refuse('duplicate event key: control then pointer', map(['event', tstr('control')], ['event', tstr('pointer')]))
refuse('duplicate event key, second spelled with a non-minimal length',
  map(['event', tstr('pointer')], [tstr('event', 1), tstr('control')]))
refuse('duplicate data key', cat(head(5, 3), tstr('event'), tstr('pointer'), tstr('data'), tstr('x'), tstr('data'), tstr('y')))
refuse('duplicate key inside data', map(['event', tstr('pointer')], ['data', map(['x', uint(1)], ['x', uint(2)])]))

// Rule 2: tags, above all cbor-x's shared references (28 marks a value, 29 refers back to it).
refuse('shared reference: data holds tag 28("control"), event is tag 29(0)',
  map(['data', tag(28, tstr('control'))], ['event', tag(29, uint(0))]))
refuse('shared reference: event wrapped in tag 28', map(['event', tag(28, tstr('control'))]))
refuse('shared reference: tag 29 with nothing marked', map(['event', tag(29, uint(0))]))
refuse('tag 1 (epoch date) as data', map(['event', tstr('pointer')], ['data', tag(1, uint(1700000000))]))
refuse('tag 0 (date string) as data', map(['event', tstr('pointer')], ['data', tag(0, tstr('2026-01-01T00:00:00Z'))]))
refuse('tag 24 (embedded CBOR control frame) as data', map(['event', tstr('pointer')], ['data', tag(24, bstr(control))]))
refuse('tag 55799 (self-describe) around the whole frame', tag(55799, ping))
refuse('tag 64 (uint8 typed array) as data', map(['event', tstr('chunk')], ['data', tag(64, bstr([1, 2, 3]))]))
refuse('tag 105 (cbor-x record definition) as the whole frame',
  tag(105, arr(arr(tstr('event'), tstr('data')), tstr('control'), NULL)))
refuse('tag 6 (packed reference) as event', map(['event', tag(6, uint(0))]))
refuse('tag 51 (packed table) around the frame', tag(51, arr(arr(tstr('control')), ping)))
refuse('tag 258 (set) as data', map(['event', tstr('pointer')], ['data', tag(258, arr(uint(1)))]))
refuse('tag 2 (bignum) as id', map(['event', tstr('ping')], ['id', tag(2, bstr([1, 0, 0, 0, 0, 0, 0, 0, 0]))]))
refuse('tag deep inside data', map(['event', tstr('rrweb')], ['data', arr(map(['a', arr(tag(1, uint(0)))]))]))
refuse('tag on a key', map([tag(28, tstr('event')), tstr('ping')]))

// Rule 3: indefinite lengths.
refuse('indefinite-length top-level map', cat(0xbf, tstr('event'), tstr('ping'), BREAK))
refuse('indefinite-length map in data', map(['event', tstr('pointer')], ['data', cat(0xbf, tstr('x'), uint(1), BREAK)]))
refuse('indefinite-length array in data', map(['event', tstr('rrweb')], ['data', cat(0x9f, uint(1), uint(2), BREAK)]))
refuse('indefinite-length (chunked) text as event', map(['event', cat(0x7f, tstr('con'), tstr('trol'), BREAK)]))
refuse('indefinite-length (chunked) text as key', map([cat(0x7f, tstr('ev'), tstr('ent'), BREAK), tstr('ping')]))
refuse('indefinite-length byte string in data', map(['event', tstr('chunk')], ['data', cat(0x5f, bstr([1, 2]), bstr([3]), BREAK)]))
refuse('stray break in data', map(['event', tstr('pointer')], ['data', [BREAK]]))

// Rule 4: keys are text strings.
refuse('integer key 0', map([uint(0), tstr('control')], ['event', tstr('pointer')]))
refuse('negative integer key', map(['event', tstr('ping')], [nint(-1), uint(1)]))
refuse('byte-string key "event"', map([bstr([...enc.encode('event')]), tstr('control')], ['event', tstr('pointer')]))
refuse('float key 1.5', map([half(0x3e00), tstr('x')], ['event', tstr('ping')]))
refuse('NaN key', map([half(0x7e00), tstr('x')], ['event', tstr('ping')]))
refuse('array key ["event"] (reads as "event" in JavaScript)', map(['event', tstr('pointer')], [arr(tstr('event')), tstr('control')]))
refuse('map key', map([map(['a', uint(1)]), uint(1)], ['event', tstr('ping')]))
refuse('true key', map([TRUE, uint(1)], ['event', tstr('ping')]))
refuse('null key', map([NULL, uint(1)], ['event', tstr('ping')]))
refuse('integer key inside data', map(['event', tstr('pointer')], ['data', map([uint(1), uint(2)])]))

// Rule 1: exactly one well-formed item.
refuse('empty input', [])
refuse('trailing second item (a control frame after a ping)', cat(ping, control))
refuse('trailing garbage byte 0x00', cat(ping, 0x00))
refuse('trailing break byte', cat(ping, BREAK))
refuse('truncated frame', ping.slice(0, ping.length - 2))
refuse('truncated head argument', [0xb9, 0x00])
refuse('map missing its last value', cat(head(5, 2), tstr('event'), tstr('ping'), tstr('data')))
refuse('text length past the end', cat(head(5, 1), tstr('event'), head(3, 0xffffffff, 4), enc.encode('ping')))
refuse('reserved additional information 28', cat(head(5, 1), tstr('event'), 0x7c))
refuse('reserved additional information 30 in data', map(['event', tstr('pointer')], ['data', [0x1e]]))

// Rule 5: valid UTF-8.
refuse('invalid UTF-8 in event', map(['event', rawText([0x63, 0xc3, 0x28])]))
refuse('overlong UTF-8 in event', map(['event', rawText([0xc0, 0xb0])]))
refuse('UTF-16 surrogate in a key inside data', map(['event', tstr('message')], ['data', map([rawText([0xed, 0xa0, 0x80]), uint(1)])]))
refuse('code point past U+10FFFF in data', map(['event', tstr('message')], ['data', rawText([0xf4, 0x90, 0x80, 0x80])]))
refuse('invalid UTF-8 inside data', map(['event', tstr('pointer')], ['data', rawText([0xff])]))
refuse('UTF-8 cut short', map(['event', rawText([0x70, 0xe2, 0x82])]))

// Rule 6: simple values.
refuse('simple value 0xf0 as data', map(['event', tstr('pointer')], ['data', [0xf0]]))
refuse('simple value 0xe0 as data', map(['event', tstr('pointer')], ['data', [0xe0]]))
refuse('two-byte simple value f8 20 as data', map(['event', tstr('pointer')], ['data', [0xf8, 0x20]]))
refuse('two-byte simple value f8 14 (false, badly encoded) as data', map(['event', tstr('pointer')], ['data', [0xf8, 0x14]]))

// Rule 8: depth (the top-level map counts as one container).
refuse('depth 5000', deep(4999))
refuse('depth 4097', deep(4096))

// Rule 9: the top-level shape.
refuse('array at the top level', arr(tstr('event'), tstr('control')))
refuse('text at the top level', tstr('control'))
refuse('integer at the top level', uint(1))
refuse('unknown top-level key', map(['event', tstr('ping')], ['foo', uint(1)]))
refuse('unknown top-level key __proto__', map(['event', tstr('ping')], ['__proto__', map(['event', tstr('control')])]))
refuse('neither event nor ack', map(['id', uint(1)], ['data', uint(1)]))
refuse('empty map', map())
refuse('event is an integer', map(['event', uint(1)]))
refuse('event is a byte string', map(['event', bstr([...enc.encode('control')])]))
refuse('event is null', map(['event', NULL]))
refuse('event is an array', map(['event', arr(tstr('control'))]))
refuse('id negative', map(['event', tstr('ping')], ['id', nint(-1)]))
refuse('id a float', map(['event', tstr('ping')], ['id', half(0x3c00)]))
refuse('id a string', map(['event', tstr('ping')], ['id', tstr('1')]))
refuse('ack negative', map(['ack', nint(-7)]))
refuse('ack null', map(['ack', NULL]))
refuse('ack a string', map(['ack', tstr('7')]))

// Frames both sides must read the same way.
accept('ping', ping, { event: 'ping' })
accept('non-minimal map header b9 0001', cat(0xb9, 0x00, 0x01, tstr('event'), tstr('ping')), { event: 'ping' })
accept('non-minimal text length for event', map([tstr('event', 2), tstr('ping', 4)]), { event: 'ping' })
accept('ping with an id, map header and id as cbor-x writes them', cat(0xb9, 0x00, 0x02, tstr('event'), tstr('ping'), tstr('id'), uint(1, 4)), { event: 'ping' })
accept('id null', map(['event', tstr('ping')], ['id', NULL]), { event: 'ping' })
accept('pointer with a half-float value', map(['event', tstr('pointer')], ['data', map(['x', half(0x3e00)], ['y', uint(2)])]),
  { event: 'pointer', data: { x: 1.5, y: 2 } })
accept('pointer with double-float values', map(['event', tstr('pointer')], ['id', uint(4)], ['data', map(['x', double(0.25)], ['y', double(-3.75)])]),
  { event: 'pointer', data: { x: 0.25, y: -3.75 } })
accept('rrweb frame with nested maps and arrays', map(['event', tstr('rrweb')], ['id', uint(12)], ['data', arr(
  map(['type', uint(2)], ['timestamp', uint(1700000000123)], ['data', map(
    ['node', map(['id', uint(1)], ['type', uint(0)], ['childNodes', arr(
      map(['id', uint(2)], ['type', uint(2)], ['tagName', tstr('div')], ['attributes', map(['class', tstr('x é ✓')])], ['childNodes', arr()])
    )])],
    ['initialOffset', map(['left', uint(0)], ['top', nint(-20)])])]),
  map(['type', uint(3)], ['timestamp', uint(1700000000456)], ['data', map(['source', uint(2)], ['x', double(10.5)], ['positions', arr()], ['ok', TRUE], ['no', FALSE], ['none', NULL])])
)]), {
  event: 'rrweb',
  data: [
    { type: 2, timestamp: 1700000000123, data: { node: { id: 1, type: 0, childNodes: [{ id: 2, type: 2, tagName: 'div', attributes: { class: 'x é ✓' }, childNodes: [] }] }, initialOffset: { left: 0, top: -20 } } },
    { type: 3, timestamp: 1700000000456, data: { source: 2, x: 10.5, positions: [], ok: true, no: false, none: null } }
  ]
})
accept('undefined as a data value', map(['event', tstr('message')], ['data', map(['a', UNDEFINED], ['b', tstr('x')])]), { event: 'message' })
accept('NaN as a data value', map(['event', tstr('pointer')], ['data', map(['x', half(0x7e00)])]), { event: 'pointer' })
accept('chunk whose bytes are a byte string', map(['event', tstr('chunk')], ['data', map(
  ['event', tstr('rrweb')], ['series', uint(1)], ['seq', uint(0)], ['of', uint(2)], ['bytes', bstr([0x82, 0x01, 0x02])])]), { event: 'chunk' })
accept('ack 7', map(['ack', uint(7)]), { ack: 7 })
accept('event and data with text and integers', map(['event', tstr('session')], ['data', map(['id', tstr('s1')], ['n', nint(-5)], ['big', uint(2 ** 40)])]),
  { event: 'session', data: { id: 's1', n: -5, big: 2 ** 40 } })
accept('four-byte UTF-8 and the last code point', map(['event', tstr('message')], ['data', map(['😀', tstr('\u{10ffff}')])]),
  { event: 'message', data: { '😀': '\u{10ffff}' } })
accept('empty-string key inside data', map(['event', tstr('message')], ['data', map(['', uint(1)])]), { event: 'message', data: { '': 1 } })
accept('depth 1000', deep(999), { event: 'rrweb' })

const out = frames.map(({ bytes, ...f }) => {
  const { name, verdict, ...read } = f
  return { name, hex: Buffer.from(bytes).toString('hex'), verdict, ...read }
})
const names = new Set(out.map(f => f.name))
if (names.size !== out.length) throw new Error('two frames share a name')
writeFileSync(new URL('./frames.json', import.meta.url), JSON.stringify(out, null, 1) + '\n')
console.log(`${out.length} frames`)
