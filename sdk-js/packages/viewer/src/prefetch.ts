// The viewer's first calls, started by boot.ts (viewer-boot.js, a few hundred bytes in the
// page's head) while viewer.js, about 290 KB, is still loading and being parsed: joining the
// session, its stream token, and the session's stream itself, as viewer.ts would make them once
// it runs. viewer.ts's client takes each response the first time it makes the same call (same
// method, same URL, same body: ending the session is a PUT to the same URL as joining it), and
// reads it as if it had fetched it itself: errors and all. Its socket client takes the stream
// the same way, with whatever the stream heard before viewer.ts was there to listen: boot.ts
// opens it with `catch_up=1`, which asks the server for the page as it opens (as a first `sync`
// would), so the relay's replay of it is already here.

/** The calls boot.ts started, by `<METHOD> <url> <body>`, and when; each is taken once. */
type Started = Map<string, { response: Promise<Response>, at: number }>

/** The stream boot.ts opened: for which URL and subprotocols (the token), and what it heard. */
interface HeldSocket {
  ws: WebSocket
  key: string
  at: number
  heard: Event[]
  hear: (e: Event) => void
}

/** A call or socket started longer ago than this is not taken: it may no longer be the truth. */
const FRESH_MS = 10_000

const EVENTS = ['open', 'message', 'error', 'close'] as const

const holder = globalThis as { tandemViewerCalls?: Started, tandemViewerSocket?: HeldSocket }

const key = (method: string, url: string, body: unknown): string =>
  `${method.toUpperCase()} ${url} ${typeof body === 'string' ? body : ''}`

const socketKey = (url: string | URL, protocols?: string | string[]): string =>
  `${String(url)} ${([] as string[]).concat(protocols ?? []).join(',')}`

/**
 * Starts a call for viewer.ts to take. With `next`, viewer.ts gets the response only once `next`
 * has read it and started what follows from it (the next call, the stream): viewer.ts's own next
 * call then always finds that one started.
 */
export function start (method: string, url: string, init: RequestInit, next?: (response: Response) => Promise<void>): Promise<Response> {
  const started = holder.tandemViewerCalls ??= new Map()
  const response = fetch(url, { ...init, method }).then(async (r) => {
    await next?.(r.clone()).catch(() => {})
    return r
  })
  // Taken or not, a failure is the taker's to see, never an unhandled rejection here.
  response.catch(() => {})
  started.set(key(method, url, init.body), { response, at: performance.now() })
  return response
}

/** `fetch`, answered with the call boot.ts started when it is the same call. */
export const prefetched: typeof fetch = (input, init) => {
  const k = key(init?.method ?? 'GET', String(input), init?.body)
  const started = holder.tandemViewerCalls?.get(k)
  holder.tandemViewerCalls?.delete(k)
  if (started === undefined || performance.now() - started.at > FRESH_MS) return fetch(input, init)
  return started.response
}

/** Whether the last socket `prefetchedSocket` answered with was the one boot.ts opened. */
let took = false

/** Whether viewer.ts's first stream is the one boot.ts opened, which asked for the page as it opened. */
export const tookSocket = (): boolean => took

/**
 * Opens the session's stream at `url` for viewer.ts to take, asking for the page as it opens
 * (`catch_up=1`), and keeps every event it hears until then. Not taken within FRESH_MS, it is
 * closed: an agent who is not there must not count as watching.
 */
export function openSocket (url: string, protocols: string[]): void {
  const asking = new URL(url)
  asking.searchParams.set('catch_up', '1')
  const ws = new WebSocket(asking.toString(), protocols)
  ws.binaryType = 'arraybuffer'
  const heard: Event[] = []
  const hear = (e: Event): void => { heard.push(e) }
  for (const type of EVENTS) ws.addEventListener(type, hear)
  const held: HeldSocket = { ws, key: socketKey(url, protocols), at: performance.now(), heard, hear }
  holder.tandemViewerSocket = held
  setTimeout(() => {
    if (holder.tandemViewerSocket !== held) return
    holder.tandemViewerSocket = undefined
    ws.close()
  }, FRESH_MS)
}

/**
 * A WebSocket constructor that answers with the stream boot.ts opened when it is the same one
 * (same URL but for `catch_up`, same subprotocols, so the same token) and still fresh, else
 * makes a new socket. The events the held stream heard are played to the taker's handlers in a
 * microtask: after the constructor's caller has set them, before any event still to come.
 */
export const prefetchedSocket = function (url: string | URL, protocols?: string | string[]): WebSocket {
  const held = holder.tandemViewerSocket
  holder.tandemViewerSocket = undefined
  const fresh = held !== undefined && held.key === socketKey(url, protocols) &&
    performance.now() - held.at <= FRESH_MS
  took = fresh
  if (!fresh) {
    held?.ws.close()
    return new WebSocket(url, protocols)
  }
  const { ws, heard, hear } = held
  for (const type of EVENTS) ws.removeEventListener(type, hear)
  queueMicrotask(() => { for (const e of heard) ws.dispatchEvent(e) })
  return ws
} as unknown as typeof WebSocket
