// The page's recording, compressed for the wire with the browser's own `CompressionStream`:
// `{event: 'rrweb-z', data: {codec, types, bytes}}`, where `bytes`, decompressed, are the UTF-8
// JSON array of rrweb events, or (for a batch with pointer moves) their compact form
// (`packEvents`), and `types` their rrweb `type`s, in order (the relay reads those to keep its
// replay without decompressing anything: realtime/src/zipped.rs).
//
// What is batched, and for how long, was decided on the recorded trace
// (bench/data/cobrowse-trace.json.gz; see `make bench-cobrowse`):
// - a full snapshot is always compressed, with the page's start (Meta) in the same batch: about
//   7:1 on the corpus pages;
// - everything a task records goes in one batch, sent at the end of that task, so a change to
//   the page reaches the agent as soon as it did before (no timer on anything but the pointer);
// - pointer moves (95% of the trace's incremental bytes, one small event every 50 ms) are held
//   for up to `pointerWindowMs` (100 ms) and go with the next batch. Held longer they compress
//   better, but the viewer plays a batch over the time it was recorded in, so the agent sees
//   the pointer that much late: an agent following the customer's pointer is worth more than
//   the bytes;
// - a batch with pointer moves is always compressed, in the compact form of @tandem/core's
//   pointers.ts (a move in a few bytes, where its JSON is about 110 and one or two of them
//   hardly compress): the trace went from 0.377 of stock rrweb's bytes to 0.24, at the same
//   pointer latency;
// - any other batch under `minBytes` of JSON is sent as plain `rrweb` events, as older SDKs
//   send them.
// A batch of nothing but pointer moves (the ones the pointer window sends) goes as `rrweb-p`, the
// same data under another name: positions are absolute, so the relay keeps only the latest such
// batch for agents who join late, where it keeps every `rrweb-z` batch since the snapshot.
// A browser without `CompressionStream` sends plain `rrweb` events, which the server takes too.
import { hasPointerMoves, packEvents } from '@tandem/core'
import { compressInSlices } from './recorder/json.js'

/** The compressed recording's event name (realtime/src/zipped.rs). */
export const ZIPPED = 'rrweb-z'
/** A compressed batch of pointer moves only. */
export const MOVES = 'rrweb-p'

/** `deflate-raw` by default: the same bytes as `gzip` without its 18-byte header and trailer. */
export type Codec = 'deflate-raw' | 'gzip'

const META = 4
const FULL_SNAPSHOT = 2
const INCREMENTAL = 3
/** rrweb's incremental sources for pointer movement: MouseMove, TouchMove, Drag. */
const POINTER_SOURCES = [1, 6, 12]

export interface ZipOptions {
  /** How long pointer moves may wait for the next batch, in ms (0: never held). */
  pointerWindowMs?: number
  /** Batches with less JSON than this go as plain `rrweb` events. */
  minBytes?: number
  codec?: Codec
}

export const ZIP_DEFAULTS: Required<ZipOptions> = { pointerWindowMs: 100, minBytes: 256, codec: 'deflate-raw' }

/** Whether this browser compresses natively (Chromium 80+, Firefox 113+, Safari 16.4+). */
export function canCompress (): boolean {
  return typeof CompressionStream === 'function'
}

/** `data` (text, UTF-8 encoded, or bytes) compressed with `codec`. */
export async function compress (data: string | Uint8Array, codec: Codec): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream(codec))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

function isPointer (e: any): boolean {
  return e?.type === INCREMENTAL && POINTER_SOURCES.includes(e.data?.source)
}

/** Batches and compresses the recorder's events, and sends them in the order they came. */
export class Zip {
  readonly #send: (event: string, data: unknown) => void
  readonly #options: Required<ZipOptions>
  readonly #compress: boolean
  #held: unknown[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushQueued = false
  /** The batches being compressed, in order: each is sent after the one before it. */
  #tail: Promise<void> = Promise.resolve()

  constructor (send: (event: string, data: unknown) => void, options: ZipOptions = {}) {
    this.#send = send
    this.#options = { ...ZIP_DEFAULTS, ...options }
    this.#compress = canCompress()
  }

  /** Takes one event from the recorder. */
  readonly push = (e: any): void => {
    // A new page starts a batch of its own, so the relay's replay can start with it.
    if (e?.type === META) this.flush()
    this.#held.push(e)
    if (isPointer(e) && this.#options.pointerWindowMs > 0) {
      this.#timer ??= setTimeout(() => this.flush(), this.#options.pointerWindowMs)
      return
    }
    // Whatever else this task records (a snapshot's Meta and FullSnapshot, a burst of
    // mutations) goes with it, as soon as the task is done.
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => {
      this.#flushQueued = false
      this.flush()
    })
  }

  /** Resolves once every batch flushed so far has been handed to the socket. */
  get sent (): Promise<void> {
    return this.#tail
  }

  /** Sends what is held now (compressed, if it is worth it). */
  flush (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const events = this.#held
    if (events.length === 0) return
    this.#held = []
    const plain = (): void => { for (const e of events) this.#send('rrweb', e) }
    // A full snapshot (megabytes of JSON on a large page) is written and compressed in slices;
    // pointer moves go in their compact form.
    const sliced = this.#compress && events.some((e: any) => e?.type === FULL_SNAPSHOT)
    const packed = this.#compress && !sliced && hasPointerMoves(events)
    const text = this.#compress && !sliced && !packed ? JSON.stringify(events) : ''
    if (!sliced && !packed && text.length < this.#options.minBytes) {
      this.#tail = this.#tail.then(plain)
      return
    }
    const { codec } = this.#options
    const types = events.map((e: any) => e?.type)
    const event = packed && events.every(isPointer) ? MOVES : ZIPPED
    const compressed = sliced ? compressInSlices(events, codec) : compress(packed ? packEvents(events) : text, codec)
    this.#tail = this.#tail.then(() => compressed.then(
      (bytes) => { this.#send(event, { codec, types, bytes }) },
      // Compression failed (it should not): the events go as they are.
      plain
    ))
  }
}
