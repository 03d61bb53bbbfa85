// A CBOR WebSocket to Tandem's /sockets/1/ws, authenticated with a bearer subprotocol, that
// reconnects with backoff until it is closed on purpose. An event too big for one socket
// message (a large page's snapshot) is sent as numbered `chunk` frames the server and the
// viewer join again. Frames are read and written under the wire rules (@tandem/wire): one that
// breaks them is dropped, never acted on, and reported.
import { decodeFrame, encodeData, encodeFrame, FrameError, frameAround } from '@tandem/wire'

export type EventHandler = (event: string, data: any) => void

/** Close codes after which reconnecting with the same credentials cannot help. */
const FINAL = new Set([4001, 4002, 4004])
/** The server closed the socket because a message was over its limit. */
const TOO_BIG = 1009

/** How big messages and events may be (the server says so when the device registers). */
export interface Limits {
  /** The largest socket message the server accepts. */
  maxMessageBytes: number
  /** The largest event the server joins from chunks. */
  maxEventBytes: number
}

export const DEFAULT_LIMITS: Limits = { maxMessageBytes: 64 * 1024, maxEventBytes: 32 * 1024 * 1024 }

/** The largest piece of an event in one chunk: room is left for the chunk's own fields. */
const CHUNK_BYTES = 32 * 1024
const CHUNK_OVERHEAD = 256

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
  #ws: WebSocket | null = null
  #id = 0
  #attempt = 0
  #closed = false
  #queue: Uint8Array[] = []
  #series = 0
  #opened = false
  readonly #options: SocketOptions

  constructor (
    private readonly url: string,
    private readonly token: string,
    private readonly onEvent: EventHandler,
    options: SocketOptions = {}
  ) {
    this.#options = options
    this.#connect()
  }

  get #limits (): Limits {
    return this.#options.limits ?? DEFAULT_LIMITS
  }

  #connect (): void {
    const bearer = btoa(this.token).replace(/=+$/, '')
    const ws = new WebSocket(this.url, ['cbor', `cbio.http.headers.authorization.bearer.${bearer}`])
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => {
      this.#attempt = 0
      for (const frame of this.#queue.splice(0)) ws.send(frame)
      const reconnected = this.#opened
      this.#opened = true
      this.#options.onOpen?.(reconnected)
    }
    ws.onmessage = (e) => {
      let msg
      try {
        msg = decodeFrame(new Uint8Array(e.data as ArrayBuffer))
      } catch (error) {
        this.#options.onProblem?.({ id: 'frame_refused', message: `A message from the server was dropped: ${(error as Error).message}` })
        return
      }
      if (typeof msg.event === 'string') this.onEvent(msg.event, msg.data)
    }
    ws.onclose = (e) => {
      this.#ws = null
      if (this.#closed) return
      if (FINAL.has(e.code)) {
        this.#closed = true
        this.#options.onFinalClose?.(e.code)
        return
      }
      if (e.code === TOO_BIG) {
        // Not resent: what was too big is gone with the socket.
        this.#options.onProblem?.({ id: 'message_too_big', message: 'A message was too large for the server and was lost' })
      }
      this.#attempt += 1
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.#attempt, 6)) * (1 + Math.random() / 2)
      setTimeout(() => { if (!this.#closed) this.#connect() }, delay)
    }
    this.#ws = ws
  }

  /**
   * Sends an event; one bigger than a socket message goes in chunks, and one bigger than the
   * server takes is not sent at all (`onProblem` says so). Returns whether it was sent.
   */
  send (event: string, data?: unknown): boolean {
    const id = ++this.#id
    if (data === undefined) {
      this.#sendFrame(encodeFrame({ event, id }))
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
      this.#sendFrame(frameAround(event, id, body))
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
      this.#sendFrame(encodeFrame({ event: 'chunk', id: seq === 0 ? id : ++this.#id, data: { event, series, seq, of, bytes } }))
    }
    return true
  }

  #sendFrame (frame: Uint8Array): void {
    if (this.#ws && this.#ws.readyState === WebSocket.OPEN) this.#ws.send(frame)
    else this.#queue.push(frame)
  }

  close (): void {
    this.#closed = true
    this.#ws?.close(1000)
  }
}

/** The socket URL for an API base: `ws(s)://host/sockets/1/ws?<query>`. */
export function socketUrl (api: string, query: Record<string, string>): string {
  const url = new URL('sockets/1/ws', api.replace(/\/?$/, '/'))
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  return url.toString()
}
