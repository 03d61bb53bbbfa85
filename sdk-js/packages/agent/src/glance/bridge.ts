// The helpdesk page's side of the iframe bridge to an embedded Tandem viewer (PROTOCOL.md,
// Iframe bridge), as GLANCE.Cobrowse.Agent uses it: `trust` (and the agent's token, when the page
// hands one over) whenever the viewer says `init`; RPCs as `rpc:request {id, method, data}`
// answered by `rpc:response`; the viewer's events. Messages go to the frame's window only,
// addressed to the origin of its `src`, and only that window at that origin is heard.

interface BridgeMessage {
  cobrowseio?: boolean
  event?: string
  data?: any
}

/** A refusal, with an id a page can tell apart. */
export class GlanceAgentError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'GlanceAgentError'
    this.code = code
  }
}

/** How long the viewer may take to answer a request, in ms. */
const ANSWER_WITHIN = 30_000

export class ViewerBridge {
  readonly #frame: HTMLIFrameElement
  readonly #token: () => string | undefined
  readonly #onEvent: (event: string, data: any) => void
  readonly #onInit: () => void
  readonly #pending = new Map<string, { resolve: (data: any) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout> }>()

  constructor (frame: HTMLIFrameElement, options: { token: () => string | undefined, onEvent: (event: string, data: any) => void, onInit: () => void }) {
    this.#frame = frame
    this.#token = options.token
    this.#onEvent = options.onEvent
    this.#onInit = options.onInit
    addEventListener('message', (e) => this.#receive(e))
    // The viewer may have said `init` before this page listened.
    this.introduce()
  }

  /** The viewer's origin: that of the frame's address (empty before it has one). */
  get origin (): string {
    const src = this.#frame.getAttribute('src')
    if (!src) return ''
    try {
      return new URL(src, location.href).origin
    } catch {
      return ''
    }
  }

  /** `trust`, and the token when there is one. */
  introduce (): void {
    this.#post('trust', null)
    const token = this.#token()
    if (token) this.#post('token', token)
  }

  /** Asks the viewer; resolves with its answer, rejects with its refusal. */
  request (method: string, data: unknown): Promise<any> {
    if (!this.origin || !this.#frame.contentWindow) {
      return Promise.reject(new GlanceAgentError('no_viewer', 'the viewer frame has no address yet: set its src to the Tandem viewer'))
    }
    const id = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new GlanceAgentError('viewer_timeout', `the viewer did not answer ${method}`))
      }, ANSWER_WITHIN)
      this.#pending.set(id, { resolve, reject, timer })
      this.#post('rpc:request', { id, method, data })
    })
  }

  #post (event: string, data: unknown): void {
    const origin = this.origin
    const target = this.#frame.contentWindow
    if (!origin || !target) return
    target.postMessage({ trustedOnly: true, cobrowseio: true, event, data }, origin)
  }

  #receive (e: MessageEvent): void {
    if (e.source !== this.#frame.contentWindow || e.origin !== this.origin) return
    const msg = e.data as BridgeMessage | null
    if (!msg?.cobrowseio || typeof msg.event !== 'string') return
    const data = msg.data
    if (msg.event === 'init') {
      // A new page in the frame (the viewer moved on to the session): what the old one was
      // asked is lost with it.
      for (const [id, waiting] of this.#pending) {
        clearTimeout(waiting.timer)
        waiting.reject(new GlanceAgentError('viewer_reloaded', 'the viewer loaded another page before it answered; ask again'))
        this.#pending.delete(id)
      }
      this.introduce()
      this.#onInit()
      return
    }
    if (msg.event === 'rpc:response') {
      const waiting = this.#pending.get(data?.id)
      if (!waiting) return
      this.#pending.delete(data.id)
      clearTimeout(waiting.timer)
      if (data.error) waiting.reject(new GlanceAgentError(String(data.error.id ?? 'refused'), String(data.error.message ?? 'the viewer refused')))
      else waiting.resolve(data.data)
      return
    }
    this.#onEvent(msg.event, data)
  }
}
