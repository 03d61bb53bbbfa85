// The request core: JSON over fetch under `<api>/api/1`, the caller's headers on every call, a
// timeout per call, retries for idempotent calls on network errors and 5xx only (with jittered
// backoff), and the server's `{id, message}` failures turned into typed errors.
import { APIError, TokenExpiredError, isExpiry } from './errors.js'

/** Per-call options, as every method of the SDKs takes them. */
export interface RequestOptions {
  /** Aborts the call; the promise then rejects with the signal's reason. */
  signal?: AbortSignal
}

/** Query-string values: arrays become `key[]=a&key[]=b`, dates ISO 8601 strings. */
export type QueryValue = string | number | boolean | Date | null | undefined | QueryValue[] | { [key: string]: QueryValue }
export type Query = { [key: string]: QueryValue }

/** How a client reaches the API. */
export interface RequestCoreOptions {
  /** The Tandem server, e.g. `https://tandem.example.com` (a base path is kept). Defaults to the
   * page's own origin in a browser. */
  api?: string
  /** How long one call may take, in milliseconds (default 30 000). */
  timeout?: number
  /** How often an idempotent call is retried after a network error or a 5xx (default 2). */
  retries?: number
  /** Replaces the global `fetch` (tests, or runtimes without one). */
  fetch?: typeof fetch
}

export interface ClientOptions extends RequestCoreOptions {
  /** The caller's own headers (credentials, platform), read for every call. */
  headers: () => Record<string, string>
  /** A call found that the bearer JWT has expired (the error is thrown to the caller as well). */
  onExpired?: (error: TokenExpiredError) => void
}

export interface CallInit {
  query?: Query
  body?: unknown
  signal?: AbortSignal
}

/** Encodes a query object the way the server (and cobrowse-agent-sdk) expect it. */
export function buildQuery (query: Query | undefined): string {
  const parts: string[] = []
  const add = (key: string, value: QueryValue): void => {
    if (value === undefined || value === null) return
    if (Array.isArray(value)) {
      for (const item of value) add(`${key}[]`, item)
    } else if (value instanceof Date) {
      parts.push(`${key}=${encodeURIComponent(value.toISOString())}`)
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) add(`${key}[${encodeURIComponent(k)}]`, v)
    } else {
      parts.push(`${key}=${encodeURIComponent(String(value))}`)
    }
  }
  for (const [key, value] of Object.entries(query ?? {})) add(encodeURIComponent(key), value)
  return parts.join('&')
}

/** The API base without trailing slashes; in a browser, the page's origin when none is given. */
export function normaliseApi (api: string | undefined): string {
  const fallback = (globalThis as { location?: { origin?: string } }).location?.origin
  return (api ?? fallback ?? '').replace(/\/+$/, '')
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error)
      return
    }
    const done = (): void => { signal?.removeEventListener('abort', abort); resolve() }
    const abort = (): void => { clearTimeout(timer); reject(signal?.reason as Error) }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', abort, { once: true })
  })
}

function retryable (error: unknown): boolean {
  return error instanceof APIError && (error.id === 'network_error' || (error.status ?? 0) >= 500)
}

export class Client {
  readonly timeout: number
  readonly retries: number
  readonly #api: string
  readonly #fetch: typeof fetch | undefined
  readonly #headers: () => Record<string, string>
  readonly #onExpired: ((error: TokenExpiredError) => void) | undefined

  constructor (options: ClientOptions) {
    this.#api = normaliseApi(options.api)
    this.timeout = options.timeout ?? 30_000
    this.retries = options.retries ?? 2
    this.#fetch = options.fetch
    this.#headers = options.headers
    this.#onExpired = options.onExpired
  }

  /** The API base, without trailing slashes. */
  get api (): string { return this.#api }

  /** `<api>/api/1<path>`, with the query (a path may carry a query string of its own instead). */
  url (path: string, query?: Query): string {
    if (!this.#api) {
      throw new TypeError('no API base URL; pass { api: "https://tandem.example.com" }')
    }
    const search = buildQuery(query)
    return `${this.#api}/api/1${path}${search ? `?${search}` : ''}`
  }

  /** One API call; resolves with the parsed JSON body (undefined when empty). */
  async request<T> (method: string, path: string, init: CallInit = {}): Promise<T> {
    const url = this.url(path, init.query)
    const idempotent = method !== 'POST'
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#once<T>(method, url, init)
      } catch (error) {
        const again = idempotent && attempt < this.retries && retryable(error) && !init.signal?.aborted
        if (!again) {
          if (error instanceof TokenExpiredError) this.#onExpired?.(error)
          throw error
        }
        await sleep(Math.min(5_000, 250 * 2 ** attempt) * (0.5 + Math.random()), init.signal)
      }
    }
  }

  /** A call that must answer with a JSON array (the server's list endpoints). */
  async list<T> (path: string, query?: Query, options?: RequestOptions): Promise<T[]> {
    const body = await this.request<unknown>('GET', path, { query, signal: options?.signal })
    if (!Array.isArray(body)) {
      throw new APIError(`expected an array from GET ${path}`, { id: 'invalid_response', status: 200 })
    }
    return body as T[]
  }

  async #once<T> (method: string, url: string, init: CallInit): Promise<T> {
    const fetchImpl = this.#fetch ?? globalThis.fetch
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; controller.abort() }, this.timeout)
    const abort = (): void => controller.abort(init.signal?.reason)
    if (init.signal?.aborted) abort()
    init.signal?.addEventListener('abort', abort, { once: true })
    const failure = (error: unknown): unknown => {
      if (init.signal?.aborted) return init.signal.reason ?? error
      if (timedOut) {
        return new APIError(`no response from ${method} ${url} within ${this.timeout} ms`, { id: 'timeout', status: null })
      }
      const why = error instanceof Error ? error.message : String(error)
      return new APIError(`could not reach ${url}: ${why}`, { id: 'network_error', status: null, cause: error })
    }
    try {
      let res: Response
      let text: string
      try {
        res = await fetchImpl(url, {
          method,
          headers: { 'Content-Type': 'application/json', ...this.#headers() },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: controller.signal
        })
        text = await res.text()
      } catch (error) {
        throw failure(error)
      }
      let json: unknown
      let parsed = true
      try {
        json = text === '' ? undefined : JSON.parse(text)
      } catch {
        parsed = false
      }
      if (!res.ok) throw errorFor(res, parsed ? json : undefined, text)
      if (!parsed) {
        throw new APIError(`${method} ${url} answered with a body that is not JSON`, { id: 'invalid_response', status: res.status })
      }
      return json as T
    } finally {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', abort)
    }
  }
}

function errorFor (res: Response, json: unknown, text: string): APIError {
  const body = (json !== null && typeof json === 'object' ? json : {}) as { id?: unknown, message?: unknown }
  const id = typeof body.id === 'string' && body.id !== '' ? body.id : `http_${res.status}`
  const message = typeof body.message === 'string' && body.message !== ''
    ? body.message
    : (text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`)
  if (isExpiry(res.status, body.id, body.message)) return new TokenExpiredError(message, { id, status: res.status })
  return new APIError(message, { id, status: res.status })
}
