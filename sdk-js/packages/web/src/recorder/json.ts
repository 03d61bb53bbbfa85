// A large batch of events (a full snapshot: up to tens of MB of JSON) written as JSON and
// compressed a piece at a time, giving the page its main thread back between pieces: a
// `JSON.stringify` of the whole batch, then its UTF-8 copy, held the customer's page for up to
// a second and a half on the corpus's largest pages (issue 18).
import { SLICE_MS, yieldToPage } from './slice.js'

/** Characters of JSON per piece (about): deflating them takes a few ms. */
const PIECE_CHARS = 64 * 1024

/** Objects at this depth or less (an event, its data) are written key by key. */
const OPEN_DEPTH = 2

interface Frame {
  value: any
  /** The keys of an object (null: an array). */
  keys: string[] | null
  /** The next key's or element's index. */
  at: number
  /** Whether something was written inside already (a comma goes before the next). */
  written: boolean
  depth: number
}

/**
 * `JSON.stringify(value)`, in pieces: `next(deadline)` returns the next piece (null once all is
 * written), written until `deadline` (a `performance.now()` time) or PIECE_CHARS characters.
 * The pieces joined are exactly `JSON.stringify(value)`. Arrays, and the plain objects near the
 * top or holding `childNodes` (rrweb's serialised nodes), are written a member at a time;
 * anything else (a node's attributes, a number) with one `JSON.stringify`. The value must not
 * change until the last piece is written.
 */
export class JsonPieces {
  readonly #stack: Frame[] = []
  /** The objects being written (JSON.stringify refuses a cycle: so does this). */
  readonly #open = new Set<object>()
  /** Keys as JSON (`"type":`): the same few on every node. */
  readonly #names = new Map<string, string>()
  /** The value, until its first piece is written. */
  #first: unknown
  #done = false

  constructor (value: unknown) {
    this.#first = value
  }

  next (deadline: number): string | null {
    if (this.#done) return null
    const out: string[] = []
    let chars = 0
    let count = 0
    if (this.#first !== undefined) {
      const value = this.#first
      this.#first = undefined
      chars += this.#write(value, 0, out)
    }
    const stack = this.#stack
    while (stack.length) {
      const frame = stack[stack.length - 1]
      const { value, keys } = frame
      if (keys === null) {
        if (frame.at >= value.length) {
          this.#close(frame)
          out.push(']')
          continue
        }
        const v = value[frame.at++]
        if (frame.written) out.push(',')
        frame.written = true
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
          out.push('null')
          chars += 4
        } else {
          chars += this.#write(v, frame.depth + 1, out)
        }
      } else {
        if (frame.at >= keys.length) {
          this.#close(frame)
          out.push('}')
          continue
        }
        const key = keys[frame.at++]
        const v = value[key]
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue
        let name = this.#names.get(key)
        if (name === undefined) this.#names.set(key, name = JSON.stringify(key) + ':')
        out.push(frame.written ? ',' + name : name)
        frame.written = true
        chars += name.length + this.#write(v, frame.depth + 1, out)
      }
      if ((++count & 63) === 0 && (chars >= PIECE_CHARS || performance.now() >= deadline)) break
    }
    if (!stack.length) this.#done = true
    return out.join('')
  }

  /** Writes `v` whole, or opens it (a frame on the stack); returns the characters written. */
  #write (v: any, depth: number, out: string[]): number {
    const type = typeof v
    if (type === 'number') {
      const text = Number.isFinite(v) ? String(v) : 'null'
      out.push(text)
      return text.length
    }
    if (type === 'boolean') {
      out.push(v ? 'true' : 'false')
      return 5
    }
    if (v !== null && type === 'object' && typeof v.toJSON !== 'function') {
      const array = Array.isArray(v)
      if (array || (Object.getPrototypeOf(v) === Object.prototype && (depth <= OPEN_DEPTH || 'childNodes' in v))) {
        if (this.#open.has(v)) throw new TypeError('Converting circular structure to JSON')
        this.#open.add(v)
        this.#stack.push({ value: v, keys: array ? null : Object.keys(v), at: 0, written: false, depth })
        out.push(array ? '[' : '{')
        return 1
      }
    }
    const text = JSON.stringify(v)
    if (text === undefined) throw new TypeError('A value JSON cannot write')
    out.push(text)
    return text.length
  }

  #close (frame: Frame): void {
    this.#stack.pop()
    this.#open.delete(frame.value)
  }
}

/**
 * `JSON.stringify(value)`, UTF-8 encoded and compressed with `codec`, as `compress` in zip.ts
 * makes it, but written and compressed in slices of at most about SLICE_MS (the page runs in
 * between). `value` must not change until the promise resolves.
 */
export async function compressInSlices (value: unknown, codec: CompressionFormat): Promise<Uint8Array> {
  const stream = new CompressionStream(codec)
  const writer = stream.writable.getWriter()
  const result = new Response(stream.readable).arrayBuffer()
  const encoder = new TextEncoder()
  const pieces = new JsonPieces(value)
  try {
    for (;;) {
      const piece = pieces.next(performance.now() + SLICE_MS / 2)
      if (piece === null) break
      // Deflated as it is written (the compression stream's transform runs now, in this task),
      // at most PIECE_CHARS at a time: one string can be longer (an image as a data URL).
      for (let at = 0; at < piece.length;) {
        let end = Math.min(piece.length, at + PIECE_CHARS)
        // Not between the two halves of a character outside the BMP.
        if (end < piece.length && (piece.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--
        await writer.write(encoder.encode(piece.slice(at, end)))
        at = end
        await yieldToPage()
      }
      if (!piece) await yieldToPage()
    }
    await writer.close()
  } catch (error) {
    void writer.abort(error).catch(() => {})
    void result.catch(() => {})
    throw error
  }
  return new Uint8Array(await result)
}
