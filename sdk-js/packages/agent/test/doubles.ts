// Stand-ins for the network (fetch and WebSocket) and fixtures shaped like the server's JSON.
// The socket double reads what the client sends under the wire rules, so a frame the relay
// would refuse fails the test that sent it.
import { decodeFrame, encodeFrame } from '@tandem/wire'

export interface Call {
  method: string
  url: URL
  /** Header names lower-cased. */
  headers: Record<string, string>
  body: any
}

export interface Reply {
  status?: number
  json?: unknown
  /** A raw body instead of `json`. */
  text?: string
}

type Handler = (call: Call) => Reply | Promise<Reply>

/** A fetch that records every call and answers from `handler` (404 `{id, message}` if it has no
 * answer). `routes` maps `"METHOD /path"` to a reply or a function of the call. */
export function fakeFetch (routes: Record<string, Reply | Handler> = {}): { fetch: typeof fetch, calls: Call[] } {
  const calls: Call[] = []
  const fetchDouble = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input))
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v
    const call: Call = {
      method: init.method ?? 'GET',
      url,
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body
    }
    calls.push(call)
    if (init.signal?.aborted) throw init.signal.reason
    const route = routes[`${call.method} ${url.pathname}`]
    const reply: Reply = typeof route === 'function'
      ? await route(call)
      : route ?? { status: 404, json: { id: 'not_found', message: `${url.pathname} not found` } }
    const body = reply.text ?? (reply.json === undefined ? '' : JSON.stringify(reply.json))
    return new Response(body === '' ? null : body, {
      status: reply.status ?? 200,
      headers: { 'Content-Type': reply.text === undefined ? 'application/json' : 'text/plain' }
    })
  }
  return { fetch: fetchDouble as typeof fetch, calls }
}

/** Frames the client sent, decoded. */
export interface Frame { event: string, id?: number, data?: unknown }

export interface FakeSocket {
  url: string
  protocols: string[]
  readyState: number
  binaryType: string
  sent: Frame[]
  /** The code the client closed with, if it did. */
  closedWith: number | undefined
  /** Server side: completes the handshake. */
  accept: () => void
  /** Server side: sends a CBOR frame. */
  push: (message: { event?: string, data?: unknown, ack?: number }) => void
  /** Server side: sends these bytes as a frame, whatever they hold. */
  pushBytes: (bytes: Uint8Array) => void
  /** Server side: acknowledges every frame with an id that is not acknowledged yet. */
  ackAll: () => void
  /** Server side: the connection ends. */
  drop: (code?: number) => void
}

/** A WebSocket class whose instances the test drives from the server's side. */
export function fakeWebSocket (): { WebSocket: typeof WebSocket, sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = []
  class Double implements FakeSocket {
    static readonly CONNECTING = 0
    static readonly OPEN = 1
    static readonly CLOSING = 2
    static readonly CLOSED = 3
    readyState = 0
    binaryType = 'blob'
    sent: Frame[] = []
    closedWith: number | undefined
    #acked = 0
    onopen: ((e: unknown) => void) | null = null
    onmessage: ((e: { data: unknown }) => void) | null = null
    onclose: ((e: { code: number }) => void) | null = null
    onerror: ((e: unknown) => void) | null = null

    constructor (readonly url: string, readonly protocols: string[] = []) {
      sockets.push(this)
    }

    send (data: Uint8Array): void {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open')
      this.sent.push(decodeFrame(data) as Frame)
    }

    close (code?: number): void {
      this.closedWith = code
      const wasOpen = this.readyState < 2
      this.readyState = 3
      if (wasOpen) queueMicrotask(() => this.onclose?.({ code: code ?? 1005 }))
    }

    accept (): void {
      this.readyState = 1
      this.onopen?.({})
    }

    push (message: { event?: string, data?: unknown, ack?: number }): void {
      this.pushBytes(encodeFrame(message))
    }

    pushBytes (bytes: Uint8Array): void {
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
      this.onmessage?.({ data: buffer })
    }

    ackAll (): void {
      for (const frame of this.sent) {
        if (typeof frame.id === 'number' && frame.id > this.#acked) {
          this.#acked = frame.id
          this.push({ ack: frame.id })
        }
      }
    }

    drop (code = 1006): void {
      this.readyState = 3
      this.onclose?.({ code })
    }
  }
  return { WebSocket: Double as unknown as typeof WebSocket, sockets }
}

// Node's, typed here so the tests need no @types/node; the tests fake only the timer functions,
// so this one keeps working while they do.
declare function setImmediate (callback: () => void): unknown

/** Lets pending promise chains and fetch bodies settle (also while timers are faked). */
export async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export function sessionJson (over: Record<string, unknown> = {}): any {
  return {
    id: 'sess-1',
    code: '012345',
    access_token: '123456789',
    state: 'pending',
    custom_data: { user_id: 'u-1' },
    device: null,
    agent: { id: 'user-1', name: 'Ann', email: 'ann@example.test', colour: '#e6194b' },
    agents: [{ id: 'user-1', name: 'Ann', email: 'ann@example.test', colour: '#e6194b' }],
    full_device: 'off',
    remote_control: 'off',
    ended_reason: null,
    region: null,
    recorded: false,
    colours: ['#e6194b', '#3cb44b'],
    control_token: 'control-1',
    created: '2026-01-02T03:04:05.000Z',
    updated: '2026-01-02T03:04:06.000Z',
    activated: null,
    ended: null,
    expires: '2026-01-02T03:24:05.000Z',
    ...over
  }
}

export function deviceJson (over: Record<string, unknown> = {}): any {
  return {
    id: 'dev-1',
    device: { platform: 'web', app_name: 'Shop', sdk_version: '0.1.0' },
    custom_data: { user_id: 'u-1' },
    connectable: true,
    online: false,
    notification_token: 'notify-1',
    last_active: '2026-01-02T03:00:00.000Z',
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-02T03:00:00.000Z',
    ...over
  }
}

export const ME = {
  id: 'user-1',
  email: 'ann@example.test',
  name: 'Ann',
  role: 'administrator',
  colour: '#e6194b',
  created: '2026-01-01T00:00:00.000Z',
  notification_token: 'nt+/secret?',
  notification_url: 'http://tandem.test/'
}
