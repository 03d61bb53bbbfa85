// The one socket a TandemAPI shares between its subscribed sessions and devices. It opens with the
// first subscription and closes with the last; in between it pings every minute, reconnects with
// backoff and sends every subscription again after each reconnect.
//
// Wire (PROTOCOL.md, Socket): binary CBOR frames, `{event, id, data}` from us, `{event, data}` or
// `{ack: id}` from the server; auth by the subprotocol `cbio.http.headers.authorization.bearer.
// <base64 of the user's notification_token>` next to `cbor`. The socket itself is @tandem/core's:
// a frame that breaks the wire rules is dropped and reported, never acted on.
import { APIError, CborSocket, Close, type Frame, socketUrl as coreSocketUrl, TokenExpiredError } from '@tandem/core'
import { VERSION } from './version.js'

/** Something that wants the socket's pushed events: a subscribed session or device. */
export interface Subscription {
  readonly kind: 'session' | 'device'
  /** The resource id (a device's is sent with `sync-presence`). */
  readonly id: string
  /** The session's `control_token` or the device's `notification_token`. */
  readonly token: string
  /** Every pushed event reaches every subscription; each picks its own. */
  receive: (event: string, data: any) => void
  /** The subscription was dropped without `remove()`: refused, or never established. */
  dropped: () => void
}

/**
 * A resource's place on the shared socket: at most one subscription at a time, forgotten when
 * the socket drops it, so the next `subscribe()` makes a new one.
 */
export class Following {
  #realtime: Realtime
  #current: { sub: Subscription, ready: Promise<void> } | null = null

  constructor (realtime: Realtime) {
    this.#realtime = realtime
  }

  get active (): boolean { return this.#current !== null }

  /** The current subscription's acknowledgement, if there is one. */
  get ready (): Promise<void> | null { return this.#current?.ready ?? null }

  /** Subscribes unless already subscribed; resolves when the server has acknowledged it. */
  async start (sub: Omit<Subscription, 'dropped'>): Promise<void> {
    if (this.#current) return await this.#current.ready
    const full: Subscription = {
      ...sub,
      dropped: () => {
        if (this.#current?.sub === full) this.#current = null
      }
    }
    const ready = this.#realtime.add(full)
    this.#current = { sub: full, ready }
    return await ready
  }

  /** Stops; the shared socket closes when nothing else is followed. */
  stop (): void {
    const current = this.#current
    this.#current = null
    if (current) this.#realtime.remove(current.sub)
  }
}

export interface Credentials {
  /** The socket URL, `ws(s)://…/sockets/1/ws?…`. */
  url: string
  /** The user's `notification_token`. */
  token: string
}

export interface RealtimeDeps {
  /** Reads `/users/me` and turns it into socket credentials. */
  credentials: () => Promise<Credentials>
  WebSocket: () => typeof WebSocket | undefined
  /** Failures nobody waits for (reconnects, refused re-subscriptions). */
  onError: (error: APIError) => void
}

interface Waiter { resolve: () => void, reject: (error: unknown) => void }

export const PING_INTERVAL_MS = 60_000
/** `/users/me` is read again after this long (the notification token may be rotated). */
const CREDENTIALS_TTL_MS = 3_600_000

/** Milliseconds before reconnect attempt `attempt` (1, 2, …): about (300·n)^1.2, at least 1 s,
 * at most 60 s, times 1–1.5 so a server restart is not met by every client at once. */
export function reconnectDelay (attempt: number): number {
  return Math.min(60_000, Math.max(1_000, (300 * attempt) ** 1.2)) * (1 + Math.random() / 2)
}

/** The socket URL: `notification_url` resolved against the API, then `sockets/1/ws` under it
 * (so a base path is kept), as ws(s). */
export function socketUrl (api: string, notificationUrl: string | undefined): string {
  const base = new URL(notificationUrl ?? '', `${api}/`)
  return coreSocketUrl(base, { 'X-CobrowsePlatform': 'agent-sdk', 'X-CobrowseSDKVersion': VERSION })
}

export class Realtime {
  /** Subscriptions, with the caller still waiting for the first acknowledgement (if any). */
  #subs = new Map<Subscription, Waiter | null>()
  readonly #socket: CborSocket
  /** Ids of `subscribe` frames awaiting their ack → the token they carried. */
  #frames = new Map<number, string>()
  /** The JWT expired: no reconnecting until a new token is set. */
  #paused = false
  #credentials: { value: Credentials, at: number } | null = null

  constructor (private readonly deps: RealtimeDeps) {
    this.#socket = new CborSocket({
      endpoint: async () => await this.#readCredentials(),
      WebSocket: deps.WebSocket,
      delay: reconnectDelay,
      ping: PING_INTERVAL_MS,
      onOpen: () => {
        const sent = new Set<string>()
        for (const sub of this.#subs.keys()) this.#subscribe(sub, sent)
      },
      onFrame: (frame) => this.#receive(frame),
      onRefused: (error) => {
        this.deps.onError(new APIError(`dropped a socket frame that broke the wire rules: ${error.message}`, { id: 'frame_refused', cause: error }))
      },
      onClose: (code) => {
        this.#frames.clear()
        // The notification token was refused (perhaps rotated), or it expired.
        if (code === Close.UNAUTHORIZED || code === Close.TOKEN_EXPIRED) this.#credentials = null
        const closed = new APIError(`the socket closed before the subscription was acknowledged (${code})`, { id: 'socket_closed' })
        this.#failPending(closed, false)
      },
      onFailure: (error) => this.#failed(error)
    })
  }

  /** Whether a socket is open or being opened. */
  get active (): boolean {
    return this.#socket.active
  }

  /** Subscribes; resolves once the server acknowledged it. If the socket cannot be opened or the
   * server refuses, it rejects and the subscription is dropped. */
  add (sub: Subscription): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#subs.set(sub, { resolve, reject }))
    if (this.#paused) this.#failPending(new TokenExpiredError('jwt expired: set a new token to subscribe'))
    else if (this.#socket.open) this.#subscribe(sub)
    else if (!this.active) this.#open()
    return done
  }

  remove (sub: Subscription): void {
    if (!this.#subs.has(sub)) return
    const waiter = this.#subs.get(sub)
    this.#subs.delete(sub)
    waiter?.resolve()
    if (this.#subs.size === 0) this.#stop()
  }

  /** Drops every subscription and closes the socket. */
  disconnect (): void {
    const subs = [...this.#subs]
    this.#subs.clear()
    this.#stop()
    for (const [sub, waiter] of subs) {
      waiter?.resolve()
      sub.dropped()
    }
  }

  /** The JWT expired (any call may find out): the socket closes, subscriptions not yet
   * acknowledged fail with `error`, the others wait for a new token. */
  expired (error: TokenExpiredError): void {
    this.#paused = true
    this.#credentials = null
    this.#failPending(error, false)
    this.#stop()
  }

  /** A new JWT was set: read the credentials again, and reconnect if the old one had expired. */
  tokenChanged (): void {
    this.#credentials = null
    if (!this.#paused) return
    this.#paused = false
    if (this.#subs.size > 0 && !this.active) this.#open()
  }

  #open (): void {
    if (this.#subs.size === 0 || this.#paused) return
    if (!this.deps.WebSocket()) {
      this.#failPending(new APIError(
        'no WebSocket in this runtime: use Node 22 or later, Node 20 with --experimental-websocket, or pass options.WebSocket',
        { id: 'no_websocket' }
      ))
      return
    }
    this.#socket.connect().catch((error: unknown) => {
      if (this.#failed(error)) this.#socket.retry()
    })
  }

  /** No socket could be opened: the subscriptions waiting for one fail; try again while any
   * subscription is left. */
  #failed (error: unknown): boolean {
    // A URL or subprotocol the runtime refuses: the credentials are read again next time.
    if (error instanceof APIError && error.id === 'socket_failed') this.#credentials = null
    this.#failPending(error)
    return this.#subs.size > 0
  }

  async #readCredentials (): Promise<Credentials> {
    const cached = this.#credentials
    if (cached && Date.now() - cached.at < CREDENTIALS_TTL_MS) return cached.value
    const value = await this.deps.credentials()
    this.#credentials = { value, at: Date.now() }
    return value
  }

  /** Sends one subscription (once per token per connection) and a device's presence request. */
  #subscribe (sub: Subscription, sent = new Set<string>()): void {
    if (!sent.has(sub.token)) {
      sent.add(sub.token)
      this.#frames.set(this.#socket.send('subscribe', sub.token), sub.token)
    }
    if (sub.kind === 'device') this.#socket.send('sync-presence', sub.id)
  }

  #receive (msg: Frame): void {
    if (typeof msg.ack === 'number') {
      this.#acknowledged(msg.ack)
    } else if (msg.event === 'error') {
      this.#refused(msg.data ?? {})
    } else if (typeof msg.event === 'string') {
      for (const sub of [...this.#subs.keys()]) sub.receive(msg.event, msg.data)
    }
  }

  #acknowledged (id: number): void {
    const token = this.#frames.get(id)
    if (token === undefined) return
    this.#frames.delete(id)
    for (const [sub, waiter] of this.#subs) {
      if (sub.token === token && waiter) {
        this.#subs.set(sub, null)
        waiter.resolve()
      }
    }
  }

  /** An `error` event: `{id, message, ref}`, `ref` being the frame it answers. */
  #refused (data: { id?: unknown, message?: unknown, ref?: unknown }): void {
    const error = new APIError(typeof data.message === 'string' ? data.message : 'the socket refused a request', {
      id: typeof data.id === 'string' ? data.id : 'socket_error'
    })
    const token = typeof data.ref === 'number' ? this.#frames.get(data.ref) : undefined
    if (token === undefined) {
      this.deps.onError(error)
      return
    }
    this.#frames.delete(data.ref as number)
    let waited = false
    for (const [sub, waiter] of [...this.#subs]) {
      if (sub.token !== token) continue
      this.#subs.delete(sub)
      sub.dropped()
      if (waiter) {
        waited = true
        waiter.reject(error)
      }
    }
    if (!waited) this.deps.onError(error)
    if (this.#subs.size === 0) this.#stop()
  }

  /** Rejects and drops the subscriptions not yet acknowledged; established ones stay, to be sent
   * again after a reconnect. With `report`, an error nobody waited for goes to `onError` (token
   * expiry has been reported by the request core already). */
  #failPending (error: unknown, report = true): void {
    let waited = false
    for (const [sub, waiter] of [...this.#subs]) {
      if (!waiter) continue
      waited = true
      this.#subs.delete(sub)
      sub.dropped()
      waiter.reject(error)
    }
    if (report && !waited && error instanceof APIError && !(error instanceof TokenExpiredError)) this.deps.onError(error)
    if (this.#subs.size === 0) this.#stop()
  }

  #stop (): void {
    this.#frames.clear()
    this.#socket.stop()
  }
}
