// The wire rules, checked in one pass over the bytes without building anything: a frame (or a
// chunked event's joined data) is read only if it is one well-formed CBOR item with no tags, no
// indefinite lengths, text keys that do not repeat within a map, valid UTF-8, no simple values but
// false/true/null/undefined, and at most MAX_DEPTH nested containers. A frame must also be a map
// of `event`, `id`, `data` and `ack`. The relay applies the same rules (realtime/src/frame.rs), so
// the server and the SDKs cannot read one frame two ways.

/** The rule a refused frame broke. */
export type Rule =
  | 'well-formed' // 1: one complete CBOR item, nothing after it
  | 'no-tags' // 2
  | 'definite-lengths' // 3: no indefinite strings, arrays or maps, no break
  | 'text-keys' // 4: every map key is a text string
  | 'unique-keys' // 4: no key twice in one map
  | 'utf-8' // 5
  | 'simple-values' // 6: only false, true, null, undefined (and floats)
  | 'depth' // 8
  | 'frame-shape' // 9: `{event?, id?, data?, ack?}` with `event` or `ack`
  | 'decode' // the rules held, but the decoder could not build the value (a JavaScript limit)

/** A frame refused by the wire rules: which one it broke, and where. */
export class FrameError extends Error {
  override readonly name = 'FrameError'

  constructor (readonly rule: Rule, readonly offset: number, detail: string) {
    super(`frame refused (${rule}) at byte ${offset}: ${detail}`)
  }
}

/** The most containers (maps and arrays) one inside another, the outermost counted. */
export const MAX_DEPTH = 4096

/** A map with more keys than this checks them for repeats with a set, not pair by pair. */
const PAIRWISE_KEYS = 16

const TOP_KEYS = ['event', 'id', 'data', 'ack'].map((k) => new TextEncoder().encode(k))
const EVENT = 0
const ID = 1
const ACK = 3

/** Throws a FrameError unless `bytes` is a frame the rules accept. */
export function checkFrame (bytes: Uint8Array): void {
  walk(bytes, true)
}

/** Throws a FrameError unless `bytes` is one value the rules accept (a chunked event's data). */
export function checkData (bytes: Uint8Array): void {
  walk(bytes, false)
}

function fail (rule: Rule, at: number, detail: string): never {
  throw new FrameError(rule, at, detail)
}

function walk (b: Uint8Array, frame: boolean): void {
  const end = b.length
  // One entry per open container: items still to come (a map's keys and values both count),
  // whether it is a map, and where its keys start in `keys` (start and end offsets of each).
  const left = new Float64Array(MAX_DEPTH)
  const isMap = new Uint8Array(MAX_DEPTH)
  const keyBase = new Int32Array(MAX_DEPTH)
  const keys = new Keys()
  let depth = 0
  let p = 0
  // The top-level key whose value comes next, and what the frame has.
  let topKey = -1
  let hasEvent = false
  let hasAck = false

  for (;;) {
    if (p >= end) fail('well-formed', p, p === 0 ? 'no bytes' : 'the item is cut short')
    const at = p
    const initial = b[p++]
    const major = initial >> 5
    const info = initial & 0x1f
    // (`& 1` keeps the parity of any count, however large.)
    const isKey = depth > 0 && isMap[depth - 1] === 1 && (left[depth - 1] & 1) === 0

    if (major === 6) fail('no-tags', at, 'a tag')
    if (info === 31) {
      if (major === 0 || major === 1) fail('well-formed', at, 'an integer with additional information 31')
      fail('definite-lengths', at, major === 7 ? 'a break outside an indefinite-length item' : 'an indefinite length')
    }
    if (info >= 28) fail('well-formed', at, `reserved additional information ${info}`)
    if (depth === 0 && frame && major !== 5) fail('frame-shape', at, 'a frame is a map')
    if (isKey && major !== 3) fail('text-keys', at, 'a map key that is not a text string')

    // The argument: a value, a length or a count.
    let arg = info
    if (info >= 24) {
      const size = 1 << (info - 24)
      if (p + size > end) fail('well-formed', at, 'the item is cut short')
      if (major === 7) {
        if (info === 24) fail('simple-values', at, `simple value ${b[p]}`)
        arg = 0 // a float: allowed as a value
      } else if (size === 1) {
        arg = b[p]
      } else if (size === 2) {
        arg = (b[p] << 8) | b[p + 1]
      } else if (size === 4) {
        arg = ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
      } else {
        const high = ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
        const low = ((b[p + 4] << 24) >>> 0) + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7])
        // Past 2^53 this is not exact, which only matters for lengths, and those are over `end`.
        arg = high * 0x100000000 + low
      }
      p += size
    } else if (major === 7 && info < 20) {
      fail('simple-values', at, `simple value ${info}`)
    }

    if (frame && depth === 1) {
      if (isKey) {
        topKey = topKeyAt(b, p, arg)
        if (topKey < 0) fail('frame-shape', at, 'a top-level key other than event, id, data and ack')
      } else if (topKey === EVENT) {
        if (major !== 3) fail('frame-shape', at, '`event` is not a text string')
        hasEvent = true
      } else if (topKey === ID) {
        if (major !== 0 && initial !== 0xf6) fail('frame-shape', at, '`id` is not an unsigned integer or null')
      } else if (topKey === ACK) {
        if (major !== 0) fail('frame-shape', at, '`ack` is not an unsigned integer')
        hasAck = true
      }
    }

    if (major === 2 || major === 3) {
      if (arg > end - p) fail('well-formed', at, 'a string longer than what is left')
      if (major === 3) {
        if (!validUtf8(b, p, p + arg)) fail('utf-8', at, 'text that is not valid UTF-8')
        if (isKey && !keys.add(b, keyBase[depth - 1], p, p + arg)) fail('unique-keys', at, 'a key repeated in one map')
      }
      p += arg
    } else if (major === 4 || major === 5) {
      if (depth === MAX_DEPTH) fail('depth', at, `more than ${MAX_DEPTH} nested containers`)
      const items = major === 5 ? arg * 2 : arg
      // Each item takes at least a byte.
      if (items > end - p) fail('well-formed', at, 'more items than bytes left')
      if (items > 0) {
        left[depth] = items
        isMap[depth] = major === 5 ? 1 : 0
        keyBase[depth] = keys.open()
        depth++
        continue
      }
    }

    // One item is complete: count it off, closing the containers it completes.
    while (depth > 0 && --left[depth - 1] === 0) {
      depth--
      keys.close(keyBase[depth])
    }
    if (depth === 0) break
  }

  if (p !== end) fail('well-formed', p, 'bytes after the item')
  if (frame && !hasEvent && !hasAck) fail('frame-shape', 0, 'a frame has `event` or `ack`')
}

/** Which top-level key the text at `at` (of `length` bytes) is: EVENT, ID, DATA, ACK or -1. */
function topKeyAt (b: Uint8Array, at: number, length: number): number {
  for (let k = 0; k < TOP_KEYS.length; k++) {
    if (TOP_KEYS[k].length === length && sameBytes(b, at, TOP_KEYS[k])) return k
  }
  return -1
}

/**
 * The keys of the open maps, innermost last, as start and end offsets; a map with many keys
 * also has a set of them. Nothing is kept for a map once it closes.
 */
class Keys {
  #offsets = new Int32Array(256)
  #top = 0
  /** Sets by the base of their map. */
  #sets = new Map<number, Set<string>>()

  /** A container opens: returns where its keys begin. */
  open (): number {
    return this.#top
  }

  /** The container whose keys began at `base` closed. */
  close (base: number): void {
    if (this.#top !== base) {
      if (this.#sets.size !== 0) this.#sets.delete(base)
      this.#top = base
    }
  }

  /** Adds the key at start..stop to the map whose keys begin at `base`; false if it has it already. */
  add (b: Uint8Array, base: number, start: number, stop: number): boolean {
    const offsets = this.#offsets
    const top = this.#top
    if (top - base < 2 * PAIRWISE_KEYS) {
      const length = stop - start
      for (let i = base; i < top; i += 2) {
        if (offsets[i + 1] - offsets[i] === length && sameRange(b, offsets[i], start, length)) return false
      }
    } else {
      let set = this.#sets.get(base)
      if (set === undefined) {
        set = new Set()
        for (let i = base; i < top; i += 2) set.add(binary(b, offsets[i], offsets[i + 1]))
        this.#sets.set(base, set)
      }
      const key = binary(b, start, stop)
      if (set.has(key)) return false
      set.add(key)
    }
    if (this.#top + 2 > offsets.length) {
      const grown = new Int32Array(offsets.length * 2)
      grown.set(offsets)
      this.#offsets = grown
    }
    this.#offsets[this.#top++] = start
    this.#offsets[this.#top++] = stop
    return true
  }
}

function sameRange (b: Uint8Array, x: number, y: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (b[x + i] !== b[y + i]) return false
  return true
}

function sameBytes (b: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false
  return true
}

/** The bytes as a string, one character each: equal strings for equal bytes. */
function binary (b: Uint8Array, start: number, stop: number): string {
  let out = ''
  for (let i = start; i < stop; i += 4096) {
    out += String.fromCharCode.apply(null, b.subarray(i, Math.min(stop, i + 4096)) as unknown as number[])
  }
  return out
}

/** Whether bytes start..stop are UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
export function validUtf8 (b: Uint8Array, start: number, stop: number): boolean {
  // Most text is ASCII: one pass without branches says so.
  let any = 0
  for (let i = start; i < stop; i++) any |= b[i]
  if (any < 0x80) return true
  let i = start
  while (i < stop) {
    const c = b[i]
    if (c < 0x80) {
      i++
      continue
    }
    if (c < 0xc2 || c > 0xf4) return false
    if (c < 0xe0) {
      if (i + 1 >= stop || (b[i + 1] & 0xc0) !== 0x80) return false
      i += 2
      continue
    }
    const c1 = b[i + 1]
    // The second byte's range depends on the first (this is what rules out overlongs and surrogates).
    const low = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80
    const high = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf
    if (c < 0xf0) {
      if (i + 2 >= stop || c1 < low || c1 > high || (b[i + 2] & 0xc0) !== 0x80) return false
      i += 3
    } else {
      if (i + 3 >= stop || c1 < low || c1 > high || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return false
      i += 4
    }
  }
  return true
}
