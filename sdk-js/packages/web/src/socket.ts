// The web SDK's sockets to Tandem's /sockets/1/ws (the device's notifications, a session's
// stream): @tandem/core's socket, reconnecting with backoff until it is closed on purpose or
// with a final code, holding what is sent while it is down. An event too big for one socket
// message (a large page's snapshot) is sent as numbered `chunk` frames the server and the viewer
// join again. A frame that breaks the wire rules is dropped, never acted on, and reported.
import { CborSocket, Close, doubling, encodeData, FrameError } from '@tandem/core'

export { socketUrl } from '@tandem/core'

export type EventHandler = (event: string, data: any) => void

/** Close codes after which reconnecting with the same credentials cannot help. */
const FINAL: readonly number[] = [Close.UNAUTHORIZED, Close.TOKEN_EXPIRED, Close.SESSION_ENDED]

/** How big messages and events may be (the server says so when the device registers). */
export interface Limits {
  /** The largest socket message the server accepts. */
  maxMessageBytes: number
  /** The largest event the server joins from chunks. */
  maxEventBytes: number
}

export const DEFAULT_LIMITS: Limits = { maxMessageBytes: 64 * 1024, maxEventBytes: 32 * 1024 * 1024 }

/** How often the page says it is still there (a `ping` frame, which the server does not answer). */
const PING_MS = 30_000

/** Room in a message for a chunk's own fields and framing. */
const CHUNK_OVERHEAD = 256
/**
 * The largest piece of an event in one chunk: the whole chunk, its fields and the WebSocket
 * header included, fits in 32 KiB. The relay keeps a snapshot's chunks for late joiners, each in
 * one allocation of the frame's size: just over 32 KiB would take the allocator's next size
 * class, 40 KiB (realtime/src/replay.rs).
 */
const CHUNK_BYTES = 32 * 1024 - CHUNK_OVERHEAD

/** Something that could not be sent or read, told to whoever uses the socket. */
export interface SocketProblem {
  /**
   * `event_too_large` (not sent), `message_too_big` (the server closed the socket),
   * `event_unsendable` (the event holds what frames may not carry: a Date, a Set…; not sent) or
   * `frame_refused` (a frame that arrived broke the wire rules; dropped).
   */
  id: 'event_too_large' | 'message_too_big' | 'event_unsendable' | 'frame_refused'
  message: string
  /** The event that was not sent, and its size, when known. */
  event?: string
  bytes?: number
}

export interface SocketOptions {
  onOpen?: (reconnected: boolean) => void
  onFinalClose?: (code: number) => void
  onProblem?: (problem: SocketProblem) => void
  limits?: Limits
}

export class Socket {
  readonly #socket: CborSocket
  readonly #options: SocketOptions
  #series = 0

  constructor (url: string, token: string, onEvent: EventHandler, options: SocketOptions = {}) {
    this.#options = options
    this.#socket = new CborSocket({
      endpoint: () => ({ url, token }),
      delay: doubling(500, 30_000),
      final: FINAL,
      queue: true,
      // The page is still there: the server keeps its session alive (a page nobody watches
      // records nothing, and a session idle for inactivity_timeout_secs ends).
      ping: PING_MS,
      onOpen: options.onOpen,
      onFrame: (frame) => { if (typeof frame.event === 'string') onEvent(frame.event, frame.data) },
      onRefused: (error) => {
        options.onProblem?.({ id: 'frame_refused', message: `A message from the server was dropped: ${error.message}` })
      },
      onClose: (code) => {
        if (FINAL.includes(code)) {
          options.onFinalClose?.(code)
        } else if (code === Close.TOO_BIG) {
          // Not resent: what was too big is gone with the socket.
          options.onProblem?.({ id: 'message_too_big', message: 'A message was too large for the server and was lost' })
        }
      }
    })
    void this.#socket.connect()
  }

  get #limits (): Limits {
    return this.#options.limits ?? DEFAULT_LIMITS
  }

  /**
   * Sends an event; one bigger than a socket message goes in chunks, and one bigger than the
   * server takes is not sent at all (`onProblem` says so). Returns whether it was sent.
   */
  send (event: string, data?: unknown): boolean {
    if (data === undefined) {
      this.#socket.send(event)
      return true
    }
    // The data is encoded once, then wrapped whole into a frame or cut into chunks (encoding a
    // 6 MB snapshot takes about 140 ms of the customer's main thread).
    let body: Uint8Array
    try {
      body = encodeData(data)
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.#options.onProblem?.({ id: 'event_unsendable', message: `An event could not be sent: ${error.message}`, event })
      return false
    }
    const chunk = Math.min(CHUNK_BYTES, this.#limits.maxMessageBytes - CHUNK_OVERHEAD)
    if (body.length <= chunk) {
      this.#socket.sendEncoded(event, body)
      return true
    }
    if (body.length > this.#limits.maxEventBytes) {
      this.#options.onProblem?.({
        id: 'event_too_large',
        message: `An event of ${body.length} bytes is over the ${this.#limits.maxEventBytes} bytes the server takes`,
        event,
        bytes: body.length
      })
      return false
    }
    const series = ++this.#series
    const of = Math.ceil(body.length / chunk)
    for (let seq = 0; seq < of; seq++) {
      const bytes = body.subarray(seq * chunk, (seq + 1) * chunk)
      this.#socket.send('chunk', { event, series, seq, of, bytes })
    }
    return true
  }

  close (): void {
    this.#socket.stop()
  }
}
