// The compact form of a batch of rrweb events that holds pointer moves: what the web SDK
// compresses into an `rrweb-z` batch instead of the events' JSON (zip.ts), and the viewer reads
// back into exactly the same events (unzip.ts). Pointer moves are nearly all of a recording's
// incremental bytes, one small event every 50 ms; as JSON each costs about 110 bytes, and a
// batch of one or two of them hardly compresses. Here a move is a few bytes.
//
// The bytes: `PACKED` (the form's version; a JSON batch starts with `[`), then each event in
// order, each starting with a header byte whose low two bits say what follows:
// - 0, 1, 2: a MouseMove, TouchMove or Drag event (rrweb's sources 1, 6, 12), exactly as rrweb
//   writes one: `{type: 3, data: {source, positions: [{x, y, id, timeOffset}…]}, timestamp}`.
//   Header bits: 0x04 every timeOffset is 0 (none follow); 0x08 every id is the id before it
//   (none follow); 0x10–0x70 the number of positions, 1 to 7 (0: a varint count follows); 0x80
//   x, y and timeOffset are float64s (little-endian) rather than integers. Then its timestamp
//   (the batch's first move: as it is; later ones: the difference from the move before), then
//   per position x and y (integers: the difference from the position before, which starts at
//   0, 0 in each batch), the id (the difference from the id before, from 0) and the
//   timeOffset.
// - 3: any other event: a varint byte length, then its JSON (UTF-8).
// Integers are LEB128 varints; signed ones zigzag-encoded first. A move whose numbers are not
// all safe integers under 2^50 (or finite numbers, in float mode), or whose shape is not
// exactly rrweb's, goes as JSON: the viewer always gets back what `JSON.stringify` would have
// carried. Each batch stands alone (no state carries from one to the next), so a viewer that
// joins late, or reconnects, reads every batch it gets.

/** The first byte of a packed batch: the form's version. */
export const PACKED = 1

/** rrweb's incremental sources for pointer movement, by their header code. */
const SOURCES = [1, 6, 12]
const INCREMENTAL = 3
const JSON_ITEM = 3
const OFFSETS_ZERO = 0x04
const SAME_IDS = 0x08
const FLOATS = 0x80
/** Integers past this (in magnitude) go as JSON, so differences stay exact in a double. */
const LIMIT = 2 ** 50
const POSITION_KEYS = ['x', 'y', 'id', 'timeOffset']

const safe = (n: unknown): n is number => Number.isInteger(n) && Math.abs(n as number) <= LIMIT
const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n)
const zigzag = (n: number): number => n >= 0 ? 2 * n : -2 * n - 1
const unzigzag = (n: number): number => n % 2 === 0 ? n / 2 : -(n + 1) / 2

function sameKeys (o: unknown, keys: string[]): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false
  const own = Object.keys(o)
  return own.length === keys.length && own.every((k, i) => k === keys[i])
}

/**
 * Whether `e` is a pointer move this form carries, and how: `'int'`, `'float'`, or `null`
 * (it goes as JSON).
 */
function moveKind (e: any): 'int' | 'float' | null {
  if (!sameKeys(e, ['type', 'data', 'timestamp']) || e.type !== INCREMENTAL || !safe(e.timestamp) || e.timestamp < 0) return null
  const data = e.data
  if (!sameKeys(data, ['source', 'positions']) || !SOURCES.includes(data.source) || !Array.isArray(data.positions)) return null
  let ints = true
  for (const p of data.positions) {
    if (!sameKeys(p, POSITION_KEYS) || !safe(p.id)) return null
    for (const v of [p.x, p.y, p.timeOffset]) {
      if (!finite(v)) return null
      if (!safe(v)) ints = false
    }
  }
  return ints ? 'int' : 'float'
}

/** Whether a batch has anything this form makes smaller than JSON. */
export function hasPointerMoves (events: unknown[]): boolean {
  return events.some((e) => moveKind(e) !== null)
}

class Writer {
  bytes = new Uint8Array(256)
  length = 0

  #room (n: number): void {
    if (this.length + n <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }

  byte (b: number): void {
    this.#room(1)
    this.bytes[this.length++] = b
  }

  /** A non-negative integer up to 2^53, as a LEB128 varint. */
  varint (n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) + 0x80)
      n = Math.floor(n / 0x80)
    }
    this.byte(n)
  }

  signed (n: number): void {
    this.varint(zigzag(n))
  }

  /** A finite double (-0 as 0, as JSON carries it). */
  float (n: number): void {
    this.#room(8)
    new DataView(this.bytes.buffer).setFloat64(this.length, n === 0 ? 0 : n, true)
    this.length += 8
  }

  raw (b: Uint8Array): void {
    this.#room(b.length)
    this.bytes.set(b, this.length)
    this.length += b.length
  }
}

/** `events` in the compact form (every event goes, pointer moves or not). */
export function packEvents (events: unknown[]): Uint8Array {
  const w = new Writer()
  const utf8 = new TextEncoder()
  w.byte(PACKED)
  let time: number | null = null
  let x = 0
  let y = 0
  let id = 0
  for (const e of events as any[]) {
    const kind = moveKind(e)
    if (kind === null) {
      const json = utf8.encode(JSON.stringify(e) ?? 'null')
      w.byte(JSON_ITEM)
      w.varint(json.length)
      w.raw(json)
      continue
    }
    const positions: any[] = e.data.positions
    let same = true
    let last = id
    for (const p of positions) {
      if (p.id !== last) same = false
      last = p.id
    }
    const zero = positions.every((p) => p.timeOffset === 0)
    const count = positions.length >= 1 && positions.length <= 7 ? positions.length : 0
    w.byte(SOURCES.indexOf(e.data.source) | (zero ? OFFSETS_ZERO : 0) | (same ? SAME_IDS : 0) |
      (count << 4) | (kind === 'float' ? FLOATS : 0))
    if (count === 0) w.varint(positions.length)
    if (time === null) w.varint(e.timestamp)
    else w.signed(e.timestamp - time)
    time = e.timestamp
    for (const p of positions) {
      if (kind === 'float') {
        w.float(p.x)
        w.float(p.y)
      } else {
        w.signed(p.x - x)
        w.signed(p.y - y)
        x = p.x
        y = p.y
      }
      if (!same) w.signed(p.id - id)
      id = p.id
      if (zero) continue
      if (kind === 'float') w.float(p.timeOffset)
      else w.signed(p.timeOffset)
    }
  }
  return w.bytes.slice(0, w.length)
}

class Reader {
  at = 0
  readonly #view: DataView

  constructor (readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get done (): boolean {
    return this.at >= this.bytes.length
  }

  byte (): number {
    if (this.done) throw new Error('its compact form ends early')
    return this.bytes[this.at++]
  }

  varint (): number {
    let n = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      n += (b & 0x7f) * scale
      if (b < 0x80) break
      scale *= 0x80
      if (scale > 2 ** 49) throw new Error('its compact form has a number too large')
    }
    if (!Number.isSafeInteger(n)) throw new Error('its compact form has a number too large')
    return n
  }

  signed (): number {
    return unzigzag(this.varint())
  }

  float (): number {
    if (this.at + 8 > this.bytes.length) throw new Error('its compact form ends early')
    const n = this.#view.getFloat64(this.at, true)
    this.at += 8
    return n
  }

  take (n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error('its compact form ends early')
    this.at += n
    return this.bytes.subarray(this.at - n, this.at)
  }
}

/** The events a compact batch (`packEvents`) holds. Throws, saying why, on anything else. */
export function unpackEvents (bytes: Uint8Array): unknown[] {
  const r = new Reader(bytes)
  if (r.byte() !== PACKED) throw new Error(`its compact form is version ${bytes[0]}, which this viewer cannot read`)
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  const events: unknown[] = []
  let time: number | null = null
  let x = 0
  let y = 0
  let id = 0
  while (!r.done) {
    const header = r.byte()
    const code = header & 0x03
    if (code === JSON_ITEM) {
      events.push(JSON.parse(utf8.decode(r.take(r.varint()))))
      continue
    }
    const floats = (header & FLOATS) !== 0
    const count = ((header >> 4) & 0x07) || r.varint()
    if (count > r.bytes.length) throw new Error('its compact form has more positions than bytes')
    time = time === null ? r.varint() : time + r.signed()
    const positions = []
    for (let i = 0; i < count; i++) {
      let px: number, py: number
      if (floats) {
        px = r.float()
        py = r.float()
      } else {
        px = x += r.signed()
        py = y += r.signed()
      }
      if ((header & SAME_IDS) === 0) id += r.signed()
      const timeOffset = (header & OFFSETS_ZERO) !== 0 ? 0 : floats ? r.float() : r.signed()
      positions.push({ x: px, y: py, id, timeOffset })
    }
    events.push({ type: INCREMENTAL, data: { source: SOURCES[code], positions }, timestamp: time })
  }
  return events
}
