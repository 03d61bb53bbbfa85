// The viewer's first calls, started by boot.ts (viewer-boot.js, a few hundred bytes in the
// page's head) while viewer.js, about 290 KB, is still loading and being parsed: joining the
// session and its stream token, as viewer.ts would make them once it runs. viewer.ts's client
// takes each response the first time it makes the same call (same method, same URL, same body:
// ending the session is a PUT to the same URL as joining it), and reads it as if it had fetched
// it itself: errors and all.

/** The calls boot.ts started, by `<METHOD> <url> <body>`, and when; each is taken once. */
type Started = Map<string, { response: Promise<Response>, at: number }>

/** A call started longer ago than this is not taken: its answer may no longer be the truth. */
const FRESH_MS = 10_000

const holder = globalThis as { tandemViewerCalls?: Started }

const key = (method: string, url: string, body: unknown): string =>
  `${method.toUpperCase()} ${url} ${typeof body === 'string' ? body : ''}`

/** Starts a call for viewer.ts to take. */
export function start (method: string, url: string, init: RequestInit): Promise<Response> {
  const started = holder.tandemViewerCalls ??= new Map()
  const response = fetch(url, { ...init, method })
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
