// GLANCE.Cobrowse.Agent on Tandem: Glance's Agent API for a helpdesk page that embeds the Tandem
// viewer in an iframe (`/session?ssncode=<code>&wait=1`, or `?visitorid=<id>`), so that a page
// written for Glance runs with only its script's and viewer's addresses changed. Every method
// is Glance's, with Glance's rules; what Tandem has no counterpart for (screen share) answers
// with a `not_supported` error. README › Coming from Genesys or Glance maps each one.
import { GlanceAgentError, ViewerBridge } from './bridge.js'

export { GlanceAgentError }

export type Listener = (data: any) => void
export type MessageListener = (msgName: string, msg: unknown) => void

/** Where navigate() sends the customer: one of these, or `url`. */
const KEYWORDS = ['back', 'forward', 'refresh'] as const

/** What navigate() takes (Glance's params). */
export interface NavigateParams {
  /** A relative URL (against the customer's page), an absolute one on a domain the account
   * allows, or `back`, `forward` or `refresh`. */
  url?: string
  back?: boolean
  forward?: boolean
  refresh?: boolean
  /** The customer confirms first: their page's `confirm` listeners (or Tandem's question). */
  confirm?: Record<string, unknown>
  /** Opens the page with `window.open(url, target, features)`. */
  open?: { target?: '_self' | '_blank', features?: string }
  /** Opens the page by clicking a link with this target. */
  link?: { target?: '_self' | '_blank' }
}

/** What the customer's page answered a navigation. */
export interface NavigationOutcome {
  status: 'done' | 'refused' | 'failed'
  reason: string | null
}

/** Why a session ended, in Glance's words. */
function endReason (reason: string | null | undefined): string {
  if (reason === 'device_ended') return 'visitor'
  if (reason === 'agent_ended') return 'agent'
  if (reason?.endsWith('_timeout')) return 'timeout'
  return 'error'
}

function refuse (code: string, message: string): Promise<never> {
  return Promise.reject(new GlanceAgentError(code, message))
}

const notSupported = (method: string) => (): Promise<never> =>
  refuse('not_supported', `${method}: Tandem co-browses the page itself and has no screen share; see README › Coming from Genesys or Glance`)

/** The request navigate() makes of the viewer, or why `params` breaks Glance's rules. */
export function navigation (params: NavigateParams): Record<string, unknown> | string {
  if (!params || typeof params !== 'object') return 'navigate takes {url | back | forward | refresh, confirm, open, link}'
  const keywords = KEYWORDS.filter((k) => params[k] === true || params.url === k)
  const url = typeof params.url === 'string' && !KEYWORDS.includes(params.url as typeof KEYWORDS[number]) ? params.url.trim() : null
  if (params.url !== undefined && typeof params.url !== 'string') return 'url is a string'
  if (keywords.length + (url ? 1 : 0) !== 1) return 'navigate takes one of url, back, forward and refresh'
  const request: Record<string, unknown> = url ? { action: 'url', url } : { action: keywords[0] }
  if (params.confirm !== undefined && params.confirm !== null) {
    if (typeof params.confirm !== 'object' || Array.isArray(params.confirm)) return 'confirm is an object'
    request.confirm = params.confirm
  }
  for (const key of ['open', 'link'] as const) {
    const how = params[key]
    if (how === undefined || how === null) continue
    if (!url) return `${key} goes with a page URL, not back, forward or refresh`
    if (typeof how !== 'object' || Array.isArray(how)) return `${key} is an object`
    const target = how.target ?? '_self'
    if (target !== '_self' && target !== '_blank') return `${key}.target is "_self" or "_blank"`
    const features = (how as { features?: unknown }).features
    if (features !== undefined && (key === 'link' || typeof features !== 'string')) return `${key}.features is a string, for open only`
    request[key] = features !== undefined ? { target, features } : { target }
  }
  if (request.open && request.link) return 'give open or link, not both'
  return request
}

export class GlanceAgent {
  #bridge: ViewerBridge | null = null
  #token: string | undefined
  readonly #listeners = new Map<string, Set<Listener>>()
  readonly #messageListeners = new Map<string, Set<MessageListener>>()
  /** The newest data of each event, for getSessionState(). */
  readonly #states = new Map<string, unknown>()
  #userState: Record<string, unknown> = {}
  #accessibility = false
  /** What was last seen of the viewer's session. */
  #seen: { id: string, state: string, agents: number, rc: string } | null = null
  /** navigate() calls waiting for the customer's page to answer, by the viewer's request id. */
  readonly #navigations = new Map<number, (outcome: NavigationOutcome) => void>()

  /**
   * Starts driving the viewer in `viewerFrame` (the iframe, or its id). Tandem's addition:
   * `{token}`, the agent's JWT, handed over to a viewer opened with `token_source=postMessage`
   * (else the viewer signs in with `?token=` or the dashboard's cookie).
   */
  init (viewerFrame: HTMLIFrameElement | string, options: { token?: string } = {}): void {
    const frame = typeof viewerFrame === 'string' ? document.getElementById(viewerFrame) : viewerFrame
    if (!(frame instanceof HTMLIFrameElement)) throw new TypeError('init(viewerFrame) takes the viewer\'s iframe (or its id)')
    if (this.#bridge) throw new GlanceAgentError('already_initialized', 'init() was called already')
    if (options.token !== undefined && typeof options.token !== 'string') throw new TypeError('init(viewerFrame, {token}): the token is a string')
    this.#token = options.token
    this.#bridge = new ViewerBridge(frame, {
      token: () => this.#token,
      onEvent: (event, data) => this.#onEvent(event, data),
      onInit: () => {
        // A new viewer page: it hears again what this page has turned on.
        if (this.#accessibility) this.#request('update:accessibility', { enabled: true }).catch(() => {})
      }
    })
  }

  /** Turns on (or off) saying what the agent points at or draws on to the customer's screen
   * reader. */
  enableAccessibility (enable: boolean): Promise<void> {
    if (typeof enable !== 'boolean') return refuse('invalid_request', 'enableAccessibility(true | false)')
    this.#accessibility = enable
    return this.#request('update:accessibility', { enabled: enable }).then(() => {})
  }

  accessibilityEnabled (): boolean {
    return this.#accessibility
  }

  addEventListener (eventName: string, listener: Listener): void {
    if (typeof eventName !== 'string' || typeof listener !== 'function') throw new TypeError('addEventListener(eventName, listener)')
    let set = this.#listeners.get(eventName)
    if (!set) this.#listeners.set(eventName, set = new Set())
    set.add(listener)
  }

  removeEventListener (eventName: string, listener: Listener): void {
    this.#listeners.get(eventName)?.delete(listener)
  }

  /** Calls `listener(msgName, msg)` for each message of that name from the visitor's page. */
  addSessionMessageListener (msgName: string, listener: MessageListener): void {
    if (typeof msgName !== 'string' || !msgName || typeof listener !== 'function') throw new TypeError('addSessionMessageListener(msgName, listener)')
    let set = this.#messageListeners.get(msgName)
    if (!set) this.#messageListeners.set(msgName, set = new Set())
    set.add(listener)
  }

  removeSessionMessageListener (msgName: string, listener: MessageListener): void {
    this.#messageListeners.get(msgName)?.delete(listener)
  }

  /** Sends a message to the visitor's page (its `addSessionMessageListener(msgName, …)`). */
  sendSessionMessage (msgName: string, msg?: unknown): Promise<void> {
    if (typeof msgName !== 'string' || !msgName || msgName.length > 100) return refuse('invalid_request', 'a message needs a name (at most 100 characters)')
    return this.#request('create:message', { name: msgName, payload: msg ?? null }).then(() => {})
  }

  /**
   * Sends the visitor's browser to `url` (relative to their page, or absolute on a domain the
   * account allows), or back, forward or refresh; resolves with what their page answered.
   */
  navigate (params: NavigateParams): Promise<NavigationOutcome> {
    const request = navigation(params)
    if (typeof request === 'string') return refuse('invalid_request', request)
    return this.#request('create:navigation', request).then((answer: { id?: number } | null) => new Promise<NavigationOutcome>((resolve) => {
      if (typeof answer?.id !== 'number') return resolve({ status: 'done', reason: null })
      this.#navigations.set(answer.id, resolve)
    }))
  }

  /** Leaves the session (it goes on for the visitor) and sends the viewer to `url`. */
  leaveSession (url?: string): Promise<void> {
    let to: string | null = null
    if (url !== undefined && url !== null) {
      try {
        to = new URL(String(url), document.baseURI).href
      } catch {
        return refuse('invalid_request', 'leaveSession(url) takes an address')
      }
      if (!/^https?:/.test(to)) return refuse('invalid_request', 'leaveSession(url) takes an http(s) address')
    }
    return this.#request('leave:session', { url: to }).then(() => {})
  }

  /** Asks the visitor for remote control (`true`), or stops it (`false`). */
  requestRC (enable: boolean): Promise<void> {
    if (typeof enable !== 'boolean') return refuse('invalid_request', 'requestRC(true | false)')
    const now = this.#seen?.rc ?? 'off'
    if (enable && (now === 'on' || now === 'requested')) return Promise.resolve()
    if (!enable && now === 'off') return Promise.resolve()
    return this.#request('update:session', { remote_control: enable ? 'requested' : 'off' }).then(() => {})
  }

  /** The data of the newest `eventName` event (e.g. `rc`), or undefined before there was one. */
  getSessionState (eventName: string): unknown {
    return this.#states.get(eventName)
  }

  /** What the visitor's page keeps under `name` (its `GLANCE.Cobrowse.Visitor.setUserState`). */
  getUserState (name: string): unknown {
    return this.#userState[name]
  }

  readonly addScreenshare = notSupported('addScreenshare')
  readonly pauseScreenshare = notSupported('pauseScreenshare')
  /** The seed's spelling of pauseScreenshare. */
  readonly pauseScreeenshare = notSupported('pauseScreenshare')
  readonly resumeScreenshare = notSupported('resumeScreenshare')
  readonly closeScreenshare = notSupported('closeScreenshare')

  #request (method: string, data: unknown): Promise<any> {
    if (!this.#bridge) return refuse('not_initialized', 'call init(viewerFrame) first')
    return this.#bridge.request(method, data)
  }

  #fire (name: string, data: unknown): void {
    this.#states.set(name, data)
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(data)
      } catch (e) {
        console.error(`GLANCE.Cobrowse.Agent: a ${name} listener failed`, e)
      }
    }
  }

  /** The viewer's events, as Glance's. */
  #onEvent (event: string, data: any): void {
    switch (event) {
      case 'session': return this.#onSession(data)
      case 'waiting': return this.#fire('waiting', data)
      case 'page': return this.#fire('navigate', { url: data?.url ?? null, title: data?.title ?? null })
      case 'screen': return this.#fire('screen', data)
      case 'userstate':
        if (data?.state && typeof data.state === 'object') this.#userState = data.state
        return this.#fire('userstate', this.#userState)
      case 'message': {
        const name = String(data?.name ?? '')
        for (const listener of [...(this.#messageListeners.get(name) ?? [])]) {
          try {
            listener(name, data?.payload ?? null)
          } catch (e) {
            console.error(`GLANCE.Cobrowse.Agent: a ${name} message listener failed`, e)
          }
        }
        return
      }
      case 'navigation': {
        const done = this.#navigations.get(Number(data?.id))
        this.#navigations.delete(Number(data?.id))
        done?.({ status: data?.status ?? 'failed', reason: data?.reason ?? null })
        return
      }
      case 'error': {
        const detail = String(data?.message ?? 'the viewer reported an error')
        if (!this.#seen) this.#fire('connectfailed', { detail })
        return this.#fire('error', { code: String(data?.id ?? 'error'), msg: detail })
      }
    }
  }

  #onSession (s: any): void {
    if (!s || typeof s.id !== 'string') return
    const before = this.#seen?.id === s.id ? this.#seen : null
    const agents = Array.isArray(s.agents) ? s.agents : []
    const rc = String(s.remote_control ?? 'off')
    this.#seen = { id: s.id, state: s.state, agents: agents.length, rc }
    if (!before && s.state !== 'ended') this.#fire('sessionstarting', { sessionid: s.id })
    if (s.state === 'active' && before?.state !== 'active') this.#fire('sessionstart', { sessionid: s.id })
    if (before?.agents !== agents.length) {
      this.#fire('agents', { count: agents.length, agentlist: agents.map((a: any) => ({ name: a?.name ?? '', email: a?.email ?? '' })) })
    }
    if (rc !== (before?.rc ?? 'off')) {
      if (rc === 'requested') this.#fire('rcrequest', { state: 'requested' })
      if (rc === 'rejected') this.#fire('rcrequest', { state: 'declined' })
      if (rc === 'on' && before?.rc === 'requested') this.#fire('rcrequest', { state: 'accepted' })
      if (rc === 'on' || before?.rc === 'on') this.#fire('rc', { enabled: rc === 'on', suspended: false })
    }
    if (s.state === 'ended' && before?.state !== 'ended') this.#fire('sessionend', { reason: endReason(s.ended_reason) })
  }
}
