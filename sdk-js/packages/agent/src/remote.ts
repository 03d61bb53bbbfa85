// attachContext: the host page's side of the iframe bridge to an embedded Tandem viewer
// (DESIGN §2). Messages go to the viewer's window only, addressed to the API's origin, so the
// token can never reach a frame that navigated elsewhere; only messages from that window and
// that origin are heard.
import { Emitter } from './emitter.js'
import { APIError } from '@tandem/core'
import type { Session } from './sessions.js'
import type { SessionResource, Toggle, UserResource } from './types.js'

export type Tool = 'laser' | 'drawing' | 'control'
export type Navigation = 'back' | 'forward' | 'refresh' | { url: string }

/** What the customer's page answered to a navigation request. */
export interface NavigationOutcome {
  action: 'back' | 'forward' | 'refresh' | 'url'
  url: string | null
  status: 'done' | 'refused' | 'failed'
  reason: string | null
}

/** The viewer's connection figures. */
export interface SessionMetrics {
  rtt: number
  latency: number
  last_alive: number
}

export type RemoteContextEvents = {
  /** A session was loaded into the viewer (its id changed). */
  'session.loaded': [session: Session]
  /** The viewer's session changed (also after `session.loaded`). */
  'session.updated': [session: Session]
  'session.metrics.updated': [metrics: SessionMetrics]
  /** The customer's screen (viewport) size. */
  'screen.updated': [screen: { width: number, height: number }]
  error: [error: APIError]
  /** A message from the customer's page (`tandem.sendMessage(name, payload)` in the web SDK). */
  message: [message: { name: string, payload: unknown }]
  navigation: [outcome: NavigationOutcome]
}

/** What a context needs from the TandemAPI that attached it. */
export interface Attachment {
  /** The API's origin: the only origin the viewer may be on. */
  origin: string
  token: () => string | undefined
  session: (resource: SessionResource) => Session
}

/** A window (or anything that posts like one). Typed structurally so that projects without the
 * DOM library can still use the package's types. */
export interface PostMessageTarget {
  postMessage (message: unknown, targetOrigin: string): void
}

/** What `attachContext` takes: the viewer's iframe, or its window. */
export type ContextTarget = PostMessageTarget | { readonly contentWindow: PostMessageTarget | null }

interface BridgeMessage {
  cobrowseio?: boolean
  event?: string
  data?: any
}

/**
 * A Tandem viewer embedded in an iframe (or another window), driven from the host page:
 * `tandem.attachContext(iframe)`.
 */
export class RemoteContext extends Emitter<RemoteContextEvents> {
  readonly #target: PostMessageTarget
  readonly #attachment: Attachment
  readonly #pending = new Map<string, { resolve: (data: any) => void, reject: (error: Error) => void }>()
  #session: Session | null = null
  #destroyed = false
  readonly #onMessage = (e: MessageEvent): void => this.#receive(e)

  /** @hidden Made by the SDK, not by applications. */
  constructor (target: ContextTarget, attachment: Attachment) {
    super()
    const win = 'contentWindow' in target ? target.contentWindow : target
    if (!win || typeof win.postMessage !== 'function') throw new Error('attachContext needs an iframe or a window')
    this.#target = win
    this.#attachment = attachment
    addEventListener('message', this.#onMessage)
    // The viewer may be up already (and said `init` before we listened): introduce ourselves.
    this.#introduce()
  }

  /** The session in the viewer, once it has one. */
  get session (): Session | null { return this.#session }

  /** Switches the agent's tool. */
  async setTool (tool: Tool): Promise<void> {
    await this.#rpc('update:tool', { tool })
  }

  /** One of the session's `colours`, for drawing and the pointer. */
  async setColor (colour: string): Promise<void> {
    await this.#rpc('update:colour', { colour })
  }

  async setColour (colour: string): Promise<void> {
    await this.setColor(colour)
  }

  /** Clears the drawings, in the viewer and on the customer's page. */
  async clearAnnotations (): Promise<void> {
    await this.#rpc('update:drawing', { drawing: null })
  }

  /** Creates a session (with a code for the customer) and opens it in the viewer. */
  async createSession (): Promise<Session> {
    return this.#loaded(await this.#rpc('create:session', {}))
  }

  async endSession (): Promise<Session> {
    return this.#loaded(await this.#rpc('update:session', { state: 'ended' }))
  }

  async setFullDevice (state: Toggle): Promise<Session> {
    return this.#loaded(await this.#rpc('update:session', { full_device: state }))
  }

  async setRemoteControl (state: Toggle): Promise<Session> {
    return this.#loaded(await this.#rpc('update:session', { remote_control: state }))
  }

  /** Sends a message to the customer's page (`'message'` events in the web SDK). */
  async sendMessage (name: string, payload?: unknown): Promise<void> {
    await this.#rpc('create:message', { name, payload: payload ?? null })
  }

  /**
   * Asks the customer's page to go back, forward, reload or open a URL (relative, or on a
   * domain the account allows); the customer may be asked to confirm. The outcome arrives as
   * a `navigation` event.
   */
  async navigate (to: Navigation): Promise<void> {
    const request = typeof to === 'string' ? { action: to } : { action: 'url', url: to.url }
    await this.#rpc('create:navigation', request)
  }

  /** The agent signed in to the viewer. */
  readonly users = {
    current: async (): Promise<UserResource> => await this.#rpc('get:user', { id: 'me' })
  }

  /** Stops listening; requests still waiting are rejected. */
  destroy (): void {
    this.#destroyed = true
    removeEventListener('message', this.#onMessage)
    for (const { reject } of this.#pending.values()) reject(new Error('the context was destroyed'))
    this.#pending.clear()
    this.removeAllListeners()
  }

  #post (event: string, data: unknown): void {
    this.#target.postMessage({ trustedOnly: true, cobrowseio: true, event, data }, this.#attachment.origin)
  }

  /** `trust`, and the token when there is one; sent again whenever the viewer says `init`. */
  #introduce (): void {
    this.#post('trust', null)
    const token = this.#attachment.token()
    if (token) this.#post('token', token)
  }

  #rpc (method: string, data: unknown): Promise<any> {
    if (this.#destroyed) return Promise.reject(new Error('the context was destroyed'))
    const id = randomId()
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#post('rpc:request', { id, method, data })
    })
  }

  #loaded (resource: SessionResource): Session {
    this.#onSession(resource)
    return this.#session as Session
  }

  #onSession (resource: SessionResource): void {
    if (!resource || typeof resource.id !== 'string') return
    const loaded = this.#session?.id !== resource.id
    if (loaded) this.#session = this.#attachment.session(resource)
    else this.#session?.absorb(resource)
    if (loaded) this.emit('session.loaded', this.#session as Session)
    this.emit('session.updated', this.#session as Session)
  }

  #receive (e: MessageEvent): void {
    if (e.source !== this.#target || e.origin !== this.#attachment.origin) return
    const msg = e.data as BridgeMessage | null
    if (!msg?.cobrowseio || typeof msg.event !== 'string') return
    const data = msg.data
    switch (msg.event) {
      case 'init': return this.#introduce()
      case 'rpc:response': {
        const pending = this.#pending.get(data?.id)
        if (!pending) return
        this.#pending.delete(data.id)
        if (data.error) {
          const id = typeof data.error.id === 'string' ? data.error.id : 'rpc_error'
          pending.reject(new APIError(String(data.error.message ?? 'the viewer refused'), { id }))
        }
        else pending.resolve(data.data)
        return
      }
      case 'session': return this.#onSession(data)
      case 'session.metrics': this.emit('session.metrics.updated', data); return
      case 'screen': this.emit('screen.updated', data); return
      case 'message': this.emit('message', { name: String(data?.name ?? ''), payload: data?.payload ?? null }); return
      case 'navigation': this.emit('navigation', data); return
      case 'error': this.emit('error', new APIError(String(data?.message ?? 'viewer error'), { id: String(data?.id ?? 'viewer_error') }))
    }
  }
}

function randomId (): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/**
 * The 9-digit session token in a chat message such as `{start:123456789}` (what the web SDK's
 * `startSession(adapter)` sends); null when the text is not such a message.
 */
export function parseStartMessage (text: string): string | null {
  const match = /^\s*\{\s*start\s*:\s*(\d{9})\s*\}\s*$/.exec(String(text ?? ''))
  return match ? match[1] : null
}
