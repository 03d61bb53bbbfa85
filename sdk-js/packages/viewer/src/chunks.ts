// Events too big for one socket message arrive as numbered `chunk` frames:
// `{event: 'chunk', data: {event, series, seq, of, bytes}}`. The `bytes` of chunks 0..of-1 of a
// series, joined, are the CBOR encoding of the carried event's `data`. The relay passes chunks on
// as they come, so the viewer can show how far a large page has arrived. The joined bytes must
// pass the same wire rules as a frame (@tandem/wire), or the event is lost.
import { decodeData } from '@tandem/core'

interface Partial {
  event: string
  series: number
  of: number
  parts: Uint8Array[]
  bytes: number
}

/** What one chunk did: nothing yet (`progress`, 0–1), a whole event, or a broken series. */
export type Taken =
  | { kind: 'progress', event: string, progress: number }
  | { kind: 'event', event: string, data: unknown }
  | { kind: 'lost', event: string }

export class Chunks {
  #partial: Partial | null = null

  /** Takes one chunk's `data`. */
  take (d: any): Taken | null {
    const bytes = d?.bytes
    if (typeof d?.event !== 'string' || !(bytes instanceof Uint8Array) ||
        !Number.isInteger(d.series) || !Number.isInteger(d.seq) || !Number.isInteger(d.of) ||
        d.seq < 0 || d.seq >= d.of) {
      return null
    }
    if (d.seq === 0) this.#partial = { event: d.event, series: d.series, of: d.of, parts: [], bytes: 0 }
    const p = this.#partial
    // The rest of a series that began before this viewer joined: its catch-up from the
    // server's replay brings the whole series again, from its first chunk.
    if (!p) return null
    if (p.series !== d.series || p.event !== d.event || p.of !== d.of || p.parts.length !== d.seq) {
      // A gap in the series this viewer was joining: that event is lost to it.
      this.#partial = null
      return { kind: 'lost', event: p.event }
    }
    p.parts.push(bytes)
    p.bytes += bytes.length
    if (p.parts.length < p.of) return { kind: 'progress', event: p.event, progress: p.parts.length / p.of }
    this.#partial = null
    const joined = new Uint8Array(p.bytes)
    let at = 0
    for (const part of p.parts) {
      joined.set(part, at)
      at += part.length
    }
    try {
      return { kind: 'event', event: p.event, data: decodeData(joined) }
    } catch {
      return { kind: 'lost', event: p.event }
    }
  }

  /** The series in flight will not complete (the server dropped it, or the socket closed). */
  reset (): void {
    this.#partial = null
  }
}
