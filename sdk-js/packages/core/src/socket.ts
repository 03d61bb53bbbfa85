// The socket client of every Tandem package (PROTOCOL.md, Socket): one WebSocket to
// `/sockets/1/ws` at a time, authenticated by the bearer subprotocol beside `cbor` (the token
// never goes in the URL), binary CBOR frames `{event, id?, data?}` out and `{event, data}` or
// `{ack}` in. Frames are read and written under the wire rules (@tandem/wire): one that breaks
// them is dropped and reported, never acted on. After a drop it reconnects with backoff, asking
// for its endpoint again each time, until it is stopped or closed with a final code.
import { decodeFrame, encodeFrame, frameAround, type Frame } from '@tandem/wire'
import { APIError } from './errors.js'

export interface Endpoint {
  /** An absolute `ws(s)://` URL (see `socketUrl`). */
  url: string
  /** The bearer token: a notification, device or stream token. */
  token: string
}

export interface SocketOptions {
  /** Where to connect and with which token; asked before every connection. */
  endpoint: () => Endpoint | Promise<Endpoint>
  /** Milliseconds before reconnect attempt `attempt` (1, 2, …; back to 1 once a socket opens). */
  delay: (attempt: number) => number
  /** Every frame that passed the wire rules. */
  onFrame: (frame: Frame) => void
  /** A frame broke the wire rules and was dropped (the error is a FrameError naming the rule). */
  onRefused?: (error: Error) => void
  /** A socket opened; `reconnected` for every one after the first. */
  onOpen?: (reconnected: boolean) => void
  /** The socket closed (not through `stop()`). It reconnects afterwards unless the code is final
   * or `stop()` is called in here. */
  onClose?: (code: number) => void
  /** A reconnect could not open a socket (the endpoint failed, or the runtime refused the socket);
   * return whether to try again after the next delay (default: yes). */
  onFailure?: (error: unknown) => boolean
  /** Close codes after which reconnecting cannot help. */
  final?: readonly number[]
  /** Frames sent while no socket is open wait for the next one; otherwise they are dropped. */
  queue?: boolean
  /** Sends `{event: 'ping'}` this often (ms) while open. */
  ping?: number
  /** The WebSocket constructor; the global one by default. */
  WebSocket?: () => typeof WebSocket | undefined
}

const OPEN = 1

/** `sockets/1/ws` under `base` (an absolute http(s) or ws(s) URL whose path is kept as a
 * directory), as ws(s), with `query`. */
export function socketUrl (base: string | URL, query: Record<string, string> = {}): string {
  const dir = new URL(base)
  if (!dir.pathname.endsWith('/')) dir.pathname += '/'
  const url = new URL('sockets/1/ws', dir)
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:'
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
  return url.toString()
}

/** The subprotocols that carry `token`: `cbor`, and the bearer as base64 of its UTF-8 without `=`. */
export function bearerProtocols (token: string): string[] {
  let binary = ''
  for (const byte of new TextEncoder().encode(token)) binary += String.fromCharCode(byte)
  return ['cbor', `cbio.http.headers.authorization.bearer.${btoa(binary).replace(/=+$/, '')}`]
}

/** Delays that double from `base`·2 to at most `max` ms, times 1–1.5 with `jitter` so that a
 * server restart is not met by every client at once. */
export function doubling (base: number, max: number, jitter = true): (attempt: number) => number {
  return (attempt) => Math.min(max, base * 2 ** Math.min(attempt, 6)) * (jitter ? 1 + Math.random() / 2 : 1)
}

function bytesOf (data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return null
}

export class CborSocket {
  readonly #options: SocketOptions
  #ws: WebSocket | null = null
  /** Bumped by `stop()`, so that a connection still being made gives up. */
  #generation = 0
  #connecting = false
  #retry: ReturnType<typeof setTimeout> | null = null
  #ping: ReturnType<typeof setInterval> | null = null
  #attempt = 0
  /** Frame ids count from 1 on each connection; queued frames count toward the next one. */
  #id = 0
  #queue: Uint8Array[] = []
  #opened = false

  constructor (options: SocketOptions) {
    this.#options = options
  }

  /** Whether a socket is open now. */
  get open (): boolean { return this.#ws?.readyState === OPEN }

  /** Whether a socket is open, being opened, or waiting to reconnect. */
  get active (): boolean { return this.#ws !== null || this.#connecting || this.#retry !== null }

  /**
   * Opens a socket unless one is active; resolves once it is being opened. Rejects (and tries no
   * more) when the endpoint fails or the runtime refuses the socket; the caller may `retry()`.
   * With an endpoint that answers at once, the socket is made before this returns, and a failure
   * to make it is thrown from here (as `new WebSocket` would throw it).
   */
  connect (): Promise<void> {
    if (this.active) return Promise.resolve()
    const generation = this.#generation
    this.#connecting = true
    let pending: Endpoint | Promise<Endpoint>
    try {
      pending = this.#options.endpoint()
    } catch (error) {
      this.#connecting = false
      throw error
    }
    if (!(pending instanceof Promise)) {
      this.#open(pending, generation)
      return Promise.resolve()
    }
    return pending.then(
      (endpoint) => this.#open(endpoint, generation),
      (error: unknown) => {
        // Stopped in the meantime: whoever stopped it has dealt with the pending work.
        if (generation !== this.#generation) return
        this.#connecting = false
        throw error
      }
    )
  }

  /** Connects again after the next delay (unless an attempt is already waiting). */
  retry (): void {
    if (this.#retry) return
    this.#attempt += 1
    const generation = this.#generation
    this.#retry = setTimeout(() => {
      this.#retry = null
      let attempt: Promise<void>
      try {
        attempt = this.connect()
      } catch (error) {
        attempt = Promise.reject(error)
      }
      attempt.catch((error: unknown) => {
        const again = this.#options.onFailure?.(error) ?? true
        if (again && generation === this.#generation) this.retry()
      })
    }, this.#options.delay(this.#attempt))
  }

  /** Sends `{event, id, data}` (no `data` key when it is undefined); returns the frame's id.
   * Throws a FrameError when `data` holds what frames may not carry. */
  send (event: string, data?: unknown): number {
    const id = this.#id += 1
    const frame: Frame = { event, id }
    if (data !== undefined) frame.data = data
    this.#write(encodeFrame(frame))
    return id
  }

  /** Sends `{event, id, data}` around data encoded already (`encodeData`); returns the id. */
  sendEncoded (event: string, data: Uint8Array): number {
    const id = this.#id += 1
    this.#write(frameAround(event, id, data))
    return id
  }

  /** Closes the socket and reconnects no more, until `connect()` is called again. */
  stop (code = 1000): void {
    this.#generation += 1
    this.#connecting = false
    this.#attempt = 0
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = null
    this.#clearPing()
    this.#id = 0
    this.#queue = []
    const ws = this.#ws
    this.#ws = null
    if (ws && ws.readyState <= OPEN) ws.close(code)
  }

  /** Makes the socket for `endpoint`, unless stopped since `generation`. */
  #open (endpoint: Endpoint, generation: number): void {
    if (generation !== this.#generation) return
    this.#connecting = false
    const WS = this.#options.WebSocket ? this.#options.WebSocket() : globalThis.WebSocket
    if (!WS) throw new APIError('no WebSocket in this runtime', { id: 'no_websocket' })
    let ws: WebSocket
    try {
      ws = new WS(endpoint.url, bearerProtocols(endpoint.token))
    } catch (error) {
      throw new APIError(`could not open the socket: ${(error as Error).message}`, { id: 'socket_failed', cause: error })
    }
    ws.binaryType = 'arraybuffer'
    this.#ws = ws
    ws.onopen = () => { if (this.#ws === ws) this.#opening(ws) }
    ws.onmessage = (e: MessageEvent) => { if (this.#ws === ws) this.#receive(e.data) }
    ws.onclose = (e: CloseEvent) => { if (this.#ws === ws) this.#closed(e.code) }
    ws.onerror = () => {} // a close event follows
  }

  #opening (ws: WebSocket): void {
    this.#attempt = 0
    for (const frame of this.#queue.splice(0)) ws.send(frame)
    const every = this.#options.ping
    if (every) {
      const ping = encodeFrame({ event: 'ping' })
      this.#ping = setInterval(() => this.#write(ping), every)
    }
    const reconnected = this.#opened
    this.#opened = true
    this.#options.onOpen?.(reconnected)
  }

  #write (frame: Uint8Array): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(frame)
    else if (this.#options.queue) this.#queue.push(frame)
  }

  #receive (data: unknown): void {
    const bytes = bytesOf(data)
    if (!bytes) return // text frames are not part of the protocol
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (error) {
      this.#options.onRefused?.(error as Error)
      return
    }
    this.#options.onFrame(frame)
  }

  #closed (code: number): void {
    this.#ws = null
    this.#clearPing()
    this.#id = 0
    const generation = this.#generation
    this.#options.onClose?.(code)
    if (generation !== this.#generation || this.#options.final?.includes(code)) return
    this.retry()
  }

  #clearPing (): void {
    if (this.#ping) clearInterval(this.#ping)
    this.#ping = null
  }
}
