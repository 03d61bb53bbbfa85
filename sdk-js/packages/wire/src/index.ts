// Tandem's socket frames (PROTOCOL.md, Socket) read and written in one place for the web SDK,
// the viewer and the agent SDK. Reading checks the wire rules (rules.ts) over the bytes first and
// only then decodes, with a decoder that interprets nothing beyond plain CBOR; writing uses an
// encoder that emits nothing the rules refuse, and checks that it did not.
import { Decoder, Encoder } from 'cbor-x'
import { checkData, checkFrame, FrameError } from './rules.js'

export { FrameError, MAX_DEPTH, type Rule } from './rules.js'

/** A frame as the server sends it: `{event, data}` or `{ack}`; clients add an `id`. */
export interface Frame {
  event?: string
  /** Integers past 2^64 are not allowed; past 2^53 they read as a bigint. */
  id?: number | bigint | null
  data?: any
  ack?: number | bigint
}

// Maps become plain objects; no records, shared structures, shared references or packing. The
// rules leave no tag for cbor-x's extensions to read.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, structuredClone: false, pack: false, bundleStrings: false })

// Objects as maps (not records), a Uint8Array as a plain byte string (Node would tag it 64),
// a JavaScript Map without tag 259, nothing shared or packed.
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  useSelfDescribedHeader: false
} as ConstructorParameters<typeof Encoder>[0])

function decodeChecked (bytes: Uint8Array): any {
  try {
    return decoder.decode(bytes)
  } catch (error) {
    // Nesting the rules allow but this engine's stack does not, say.
    throw new FrameError('decode', 0, (error as Error)?.message ?? String(error))
  }
}

/** Reads one frame; throws a FrameError naming the rule it broke. */
export function decodeFrame (bytes: Uint8Array): Frame {
  checkFrame(bytes)
  return decodeChecked(bytes) as Frame
}

/** Reads one value under the same rules, with any shape (a chunked event's joined data). */
export function decodeData (bytes: Uint8Array): unknown {
  checkData(bytes)
  return decodeChecked(bytes)
}

/**
 * Writes a frame. Throws a FrameError if the frame holds something the rules refuse (a Date,
 * a Set, a typed array other than Uint8Array, a bigint past 64 bits): better here than dropped
 * on the way.
 */
export function encodeFrame (frame: Frame): Uint8Array {
  const bytes = encoder.encode(frame)
  checkFrame(bytes)
  return bytes
}

/** Writes one value (an event's data, to be sent in chunks or with `frameAround`), checked the same way. */
export function encodeData (data: unknown): Uint8Array {
  const bytes = encoder.encode(data)
  checkData(bytes)
  return bytes
}

/** A frame's keys, and an event name (kept short), encoded once. */
const KEYS = { event: encoder.encode('event').slice(), id: encoder.encode('id').slice(), data: encoder.encode('data').slice() }

/** `{event, id, data}` as one frame, around `data` that encodeData wrote (so it is not encoded twice). */
export function frameAround (event: string, id: number, data: Uint8Array): Uint8Array {
  const head = [KEYS.event, encoder.encode(event), KEYS.id, encoder.encode(id), KEYS.data]
  const out = new Uint8Array(1 + head.reduce((n, h) => n + h.length, 0) + data.length)
  out[0] = 0xa3 // a map of three pairs
  let at = 1
  for (const part of [...head, data]) {
    out.set(part, at)
    at += part.length
  }
  return out
}
