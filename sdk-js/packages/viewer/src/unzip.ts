// The customer's recording arrives as plain `rrweb` events (older SDKs) and as compressed
// `rrweb-z` batches `{codec, types, bytes}`: `bytes`, decompressed with `codec`, are the UTF-8
// JSON array of rrweb events whose `type`s `types` lists (realtime/src/zipped.rs), or, for a
// batch with pointer moves, the same events in the compact form of @tandem/core's pointers.ts
// (its first byte is its version, `PACKED`, a control byte; JSON's is `[`). Batches are
// decompressed with the browser's `DecompressionStream`, and every event is played in the order
// it was sent, whatever its form: a plain event that arrives while a batch is decompressing
// waits for it. A batch that does not decompress into the events it announces is not played;
// `failed` says so.
//
// Not in a worker: measured in Chromium on corpus pages, a 1 MB snapshot's batch (104 KB)
// inflates in 8–13 ms and parses in 6–30 ms, a 2 MB one (209 KB) in 14–16 ms and 11–22 ms, with
// no main-thread task over 50 ms (DecompressionStream yields between its chunks); handing parsed
// events back from a worker costs a structured clone, about what parsing costs. Only the 20 MB
// page (2.2 MB compressed) makes a 270–590 ms task, and the replayer then takes seconds to build
// its DOM on the same thread.

import { unpackEvents } from '@tandem/core'

/** The most JSON one batch may decompress to (a page's snapshot is at most tens of MB). */
export const MAX_BATCH_JSON = 256 * 1024 * 1024

const CODECS = ['deflate-raw', 'gzip']

/** The bytes `bytes` decompress to with `codec`, read up to `max` bytes. */
export async function inflate (bytes: Uint8Array, codec: string, max = MAX_BATCH_JSON): Promise<Uint8Array> {
  const reader = new Blob([bytes as BlobPart]).stream()
    .pipeThrough(new DecompressionStream(codec as CompressionFormat)).getReader()
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    total += value.length
    if (total > max) {
      await reader.cancel()
      throw new Error(`it decompresses to more than ${max} bytes`)
    }
    parts.push(value)
  }
  const joined = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    joined.set(part, at)
    at += part.length
  }
  return joined
}

/** The text `bytes` decompress to with `codec`, read up to `max` bytes. */
export async function decompress (bytes: Uint8Array, codec: string, max = MAX_BATCH_JSON): Promise<string> {
  return new TextDecoder('utf-8', { fatal: true }).decode(await inflate(bytes, codec, max))
}

/** The events a batch's `data` carries, checked against its `types`. */
export async function unzip (data: any): Promise<unknown[]> {
  const { codec, types, bytes } = data ?? {}
  if (!CODECS.includes(codec) || !Array.isArray(types) || !(bytes instanceof Uint8Array)) {
    throw new Error('it is not {codec, types, bytes}')
  }
  const inflated = await inflate(bytes, codec)
  // JSON starts with `[` (or a space); a control byte is a compact form's version, which
  // unpackEvents reads or says it cannot.
  const events = inflated.length > 0 && inflated[0] < 0x20 && ![0x09, 0x0a, 0x0d].includes(inflated[0])
    ? unpackEvents(inflated)
    : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(inflated))
  if (!Array.isArray(events) || events.length !== types.length ||
      events.some((e, i) => e?.type !== types[i])) {
    throw new Error('its events are not the ones it announces')
  }
  return events
}

/** rrweb's incremental sources for pointer movement: MouseMove, TouchMove, Drag. */
const POINTER_SOURCES = [1, 6, 12]

/** Pointer moves recorded within this long of each other play at once (zip.ts holds them 100 ms). */
const GLIDE_AFTER_MS = 100

/**
 * How long after its arrival each event of a batch should play: a batch of pointer moves alone
 * that the page held for longer than `GLIDE_AFTER_MS` plays over the time it was recorded in, so
 * the pointer glides rather than jumps; anything else plays at once (a glide over a shorter
 * batch would only show its last position later).
 */
export function delays (events: any[]): number[] {
  const pointer = events.every((e) => e?.type === 3 && POINTER_SOURCES.includes(e.data?.source) && Number.isFinite(e.timestamp))
  if (!pointer || events.length < 2) return events.map(() => 0)
  const first = events[0].timestamp
  if (events.every((e) => Math.abs(e.timestamp - first) <= GLIDE_AFTER_MS)) return events.map(() => 0)
  return events.map((e) => Math.min(Math.max(e.timestamp - first, 0), 1000))
}

/** Plays the recording's events in order, decompressing batches as they come. */
export class Recording {
  readonly #play: (event: unknown, delay: number) => void
  readonly #failed: (error: Error) => void
  /** The batches being decompressed, in order, and what waits behind them. */
  #tail: Promise<void> = Promise.resolve()
  #pending = 0
  /** Bumped by `reset`: what was pending before is dropped. */
  #generation = 0

  /** `play(event, delay)`: show `event`, `delay` ms from now. */
  constructor (play: (event: unknown, delay: number) => void, failed: (error: Error) => void) {
    this.#play = play
    this.#failed = failed
  }

  /** A plain `rrweb` event: played now, unless a batch before it is still decompressing. */
  plain (event: unknown): void {
    if (this.#pending === 0) return this.#play(event, 0)
    this.#after(async () => [event])
  }

  /** A compressed `rrweb-z` batch's data. */
  zipped (data: unknown): void {
    // Decompression starts now; playing waits for everything before it.
    const events = unzip(data)
    events.catch(() => {})
    this.#after(() => events)
  }

  /** The stream reconnected (and catches up from the start): what is pending is dropped. */
  reset (): void {
    this.#generation++
    this.#pending = 0
    this.#tail = Promise.resolve()
  }

  #after (events: () => Promise<unknown[]>): void {
    const generation = this.#generation
    this.#pending++
    this.#tail = this.#tail.then(async () => {
      let got: unknown[]
      try {
        got = await events()
      } catch (error) {
        if (generation === this.#generation) this.#failed(error as Error)
        return
      } finally {
        if (generation === this.#generation) this.#pending--
      }
      if (generation !== this.#generation) return
      const after = delays(got)
      got.forEach((e, i) => this.#play(e, after[i]))
    }).catch(() => {})
  }
}
