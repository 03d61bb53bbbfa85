// The viewer's side of the iframe bridge (DESIGN §2), for a helpdesk page that embeds it:
// `init` to the parent on load; `trust` and `token` from it; RPC requests from it answered
// only once its origin is one the account trusts; `session`, `session.metrics`, `screen` and
// `error` events sent to that origin alone, never to any other window.
import { APIError, originMatches } from '@tandem/core'

export type RpcHandler = (data: any) => unknown | Promise<unknown>

interface Message {
  cobrowseio?: boolean
  event?: string
  data?: any
  trustedOnly?: boolean
}

export class Bridge {
  /** The parent's origin, once the account trusts it; '' until then. */
  #trusted = ''
  /** The parent's origin as its messages tell it (not trusted by itself). */
  #parentOrigin = ''
  readonly #handlers = new Map<string, RpcHandler>()
  /** RPC requests that came before the parent was trusted, answered once it is. */
  #pending: Array<{ id: unknown, method: string, data: unknown }> = []
  #onToken: ((token: string, origin: string) => void) | null = null
  /** The account's trusted origins, once known. */
  #patterns: string[] | null = null
  /** A fresh token from the trusted parent (it re-sends one on every `init`, or when it renews). */
  onFreshToken: (token: string) => void = () => {}
  readonly embedded = window.parent !== window

  constructor () {
    if (!this.embedded) return
    addEventListener('message', (e) => this.#receive(e))
    window.parent.postMessage({ trustedOnly: false, cobrowseio: true, event: 'init', data: null }, '*')
  }

  /** The origin of the embedding page, once trusted. */
  get trustedOrigin (): string { return this.#trusted }

  /** The next `token` the parent sends (`token_source=postMessage`), with its origin. */
  token (): Promise<{ token: string, origin: string }> {
    return new Promise((resolve) => {
      this.#onToken = (token, origin) => {
        this.#onToken = null
        resolve({ token, origin })
      }
    })
  }

  /** Answers `method` requests from the trusted parent. */
  handle (method: string, handler: RpcHandler): void {
    this.#handlers.set(method, handler)
  }

  /**
   * The account's trusted origins: the parent is trusted (now, or when its first message tells
   * its origin) if its origin is the server's or matches one; held requests are answered then.
   * Returns whether it is trusted now.
   */
  allow (patterns: string[]): boolean {
    this.#patterns = patterns
    return this.#check()
  }

  #check (): boolean {
    const origin = this.#parentOrigin
    const patterns = this.#patterns
    if (!origin || !patterns || (origin !== location.origin && !originMatches(patterns, origin))) return false
    this.#trusted = origin
    for (const request of this.#pending.splice(0)) void this.#answer(request)
    return true
  }

  /** Sends an event to the trusted parent; nothing goes anywhere before it is trusted. */
  send (event: string, data: unknown): void {
    if (!this.#trusted) return
    window.parent.postMessage({ trustedOnly: true, cobrowseio: true, event, data }, this.#trusted)
  }

  #receive (e: MessageEvent): void {
    const msg = e.data as Message | null
    if (e.source !== window.parent || !msg?.cobrowseio || typeof msg.event !== 'string') return
    // A parent that navigated elsewhere is no longer the one that was trusted.
    if (this.#parentOrigin && e.origin !== this.#parentOrigin) this.#trusted = ''
    this.#parentOrigin = e.origin
    if (!this.#trusted) this.#check()
    if (msg.event === 'token' && typeof msg.data === 'string' && msg.data) {
      if (this.#onToken) this.#onToken(msg.data, e.origin)
      else if (this.#trusted) this.onFreshToken(msg.data)
    } else if (msg.event === 'rpc:request' && msg.data && typeof msg.data.method === 'string') {
      const request = { id: msg.data.id, method: msg.data.method, data: msg.data.data }
      if (this.#trusted) void this.#answer(request)
      else if (this.#pending.length < 50) this.#pending.push(request)
    }
  }

  async #answer ({ id, method, data }: { id: unknown, method: string, data: unknown }): Promise<void> {
    const handler = this.#handlers.get(method)
    try {
      if (!handler) throw new APIError(`unknown method ${method}`, { id: 'unknown_method' })
      this.send('rpc:response', { id, data: (await handler(data)) ?? null })
    } catch (e) {
      // A refusal carries an id the embedding page can tell apart (`error.id`).
      const error = e instanceof APIError ? e.id : 'rpc_error'
      this.send('rpc:response', { id, error: { id: error, message: (e as Error).message } })
    }
  }
}
