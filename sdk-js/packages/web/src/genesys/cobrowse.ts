// Genesys Co-browse's JavaScript API (the "Co-browse API" handed to `onReady`) over the Tandem
// web SDK: the session is a Tandem session, its 9-digit access token is the Genesys session
// token, and the signals follow the SDK's events.
import type { SessionResource } from '@tandem/core'
import type { Tandem } from '../index.js'
import { serviceClass } from '../ui.js'
import { agentConnected, type ExternalMediaAdapter, initializeMedia, sendToken } from './adapter.js'
import { Signal } from './signal.js'
import { GenesysUI } from './ui.js'

/** The session object the callbacks receive. */
export interface GenesysSession {
  /** The 9-digit token the agent joins with. */
  token: string
  /** The agents in the session; each is an object with no properties. */
  agents: Array<Record<string, never>>
}

/** Why a session ended, in Genesys's words (`undefined` when Tandem gives no reason it names). */
export type EndReason = 'self' | 'external' | 'timeout' | 'inactivityTimeout' | 'error' | undefined

/** Tandem's `ended_reason` in Genesys's words. */
export function endReason (reason: string | null | undefined): EndReason {
  switch (reason) {
    case 'device_ended': return 'self'
    case 'agent_ended': return 'external'
    // Nobody joined in time.
    case 'pending_timeout': return 'inactivityTimeout'
    case 'authorizing_timeout':
    case 'active_timeout': return 'timeout'
    default: return undefined
  }
}

/** How long after an agent's navigation the page must start leaving before it counts as failed. */
const NAVIGATION_GRACE_MS = 3000

export interface CobrowseOptions {
  /** Whether this page is the top context (not in a frame). */
  top: boolean
  /** Whether the page draws its own UI (`disableBuiltInUI`). */
  ownUI: boolean
  /** The primary media adapter, if the page has one. */
  media?: ExternalMediaAdapter
}

/**
 * The Co-browse API. The top context has all of it; a frame (the child context) has
 * `markServiceElement`, `onMaskedElement` and `isTopContext`.
 */
export class Cobrowse {
  readonly isTopContext: boolean
  readonly onInitialized = new Signal()
  readonly onSessionStarted = new Signal()
  /** Not in the API reference, but its `markServiceElement` example adds the toolbar on it: the page is in a session (started, or going on after a page load). */
  readonly onConnected = new Signal()
  readonly onAgentJoined = new Signal()
  readonly onAgentNavigated = new Signal()
  readonly onNavigationFailed = new Signal()
  readonly onSessionEnded = new Signal()
  /** Every masked element is heard by a callback added late, not only the last. */
  readonly onMaskedElement = new Signal('all')

  readonly #ready: Promise<Tandem>
  readonly #options: CobrowseOptions
  readonly #ui: GenesysUI | null
  #session: GenesysSession | null = null
  #sessionId: string | null = null
  #agents = new Set<string>()
  #starting = false
  #masked = new WeakSet<Element>()

  constructor (ready: Promise<Tandem>, options: CobrowseOptions, locale?: string) {
    this.#ready = ready
    this.#options = options
    this.isTopContext = options.top
    this.#ui = options.top && !options.ownUI ? new GenesysUI(locale) : null
    if (!options.top) {
      // The child context: what a frame has of the API.
      for (const name of ['isBrowserSupported', 'startSession', 'exitSession', 'onInitialized', 'onSessionStarted',
        'onConnected', 'onAgentJoined', 'onAgentNavigated', 'onNavigationFailed', 'onSessionEnded']) {
        delete (this as any)[name]
      }
    }
    ready.then((tandem) => this.#attach(tandem), (e) => {
      console.error('Tandem: Co-browse could not start on this page', e)
    })
  }

  /** Whether this browser can co-browse. */
  isBrowserSupported = (): boolean => {
    return typeof WebSocket === 'function' && typeof MutationObserver === 'function' &&
      typeof crypto?.randomUUID === 'function' && typeof TextEncoder === 'function' &&
      typeof EventTarget === 'function' && typeof sessionStorage !== 'undefined'
  }

  /**
   * Starts a session: its token goes to the primary media (when its agent is connected), and
   * `onSessionStarted` fires. Throws when the browser is not supported; a session already going
   * on is left as it is.
   */
  startSession = (): void => {
    if (!this.isBrowserSupported()) throw new Error('Co-browse is not supported in this browser')
    if (this.#session || this.#starting) return
    void this.#start()
  }

  /** Ends the session going on (`onSessionEnded` with reason `self`). */
  exitSession = (): void => {
    if (!this.#session) return
    this.#ready.then((tandem) => tandem.end()).catch((e) => console.error('Tandem: could not end the session', e))
  }

  /**
   * Keeps `element` (and what it holds) out of the agent's view: mark it before it is added to
   * the page. It is not for sensitive data: use the account's redaction selectors for that.
   */
  markServiceElement = (element: Element): void => {
    if (!(element instanceof Element)) throw new TypeError('markServiceElement takes an element')
    element.classList.add(serviceClass)
  }

  async #start (): Promise<void> {
    this.#starting = true
    const { media } = this.#options
    try {
      const tandem = await this.#ready
      const token = await tandem.startSession()
      const s = tandem.session
      if (!s || !token) throw new Error('the server gave no session token')
      this.#adopt(s, false)
      // The token reaches the agent's application first ({start:<token>} is its cue to join).
      const sent = agentConnected(media) !== false && await sendToken(media, token)
      this.onSessionEnded.forget()
      this.onSessionStarted.dispatch(this.#session)
      this.onConnected.dispatch(this.#session)
      this.#ui?.showToken(token, sent, this.exitSession)
    } catch (e) {
      console.error('Tandem: the co-browse session could not start', e)
      this.#session = null
      this.#sessionId = null
      this.onSessionEnded.dispatch({ reason: 'error' })
      this.#ui?.showProblem('failed', () => this.#showButton())
    } finally {
      this.#starting = false
    }
  }

  /** Follows session `s` from now on; `joined`: its agents already joined (a page load). */
  #adopt (s: SessionResource, joined: boolean): void {
    this.#sessionId = s.id
    this.#agents = new Set(joined ? (s.agents ?? []).map((a) => a.id) : [])
    this.#session = { token: s.access_token ?? '', agents: [...this.#agents].map(() => ({})) }
  }

  #attach (tandem: Tandem): void {
    this.#watchMasked(tandem)
    if (!this.isTopContext) return
    tandem.addEventListener('session.updated', (e) => this.#updated((e as CustomEvent<SessionResource>).detail))
    tandem.addEventListener('consent.requested', (e) => {
      const s = (e as CustomEvent<SessionResource>).detail
      // Starting the session and handing over its token is the customer's consent, as in
      // Genesys; a page with its own UI has no other way to give it.
      if (this.#options.ownUI && s.id === this.#sessionId) void tandem.consent(true)
    })
    tandem.addEventListener('session.ended', (e) => {
      const { session } = (e as CustomEvent<{ session: SessionResource }>).detail
      if (session.id === this.#sessionId) this.#ended(session)
    })
    tandem.addEventListener('navigation.requested', (e) => {
      // In Genesys the agent navigates without asking; the page hears it (onAgentNavigated). A
      // page with the built-in UI asks the customer instead (the SDK's question).
      if (this.#options.ownUI && this.#session) (e as CustomEvent<{ answer: (yes: boolean) => void }>).detail.answer(true)
    })
    tandem.addEventListener('navigation', (e) => this.#navigation((e as CustomEvent).detail))
    // The session this tab was in before the page loaded goes on (its agents have joined).
    const s = tandem.session
    if (s && s.state !== 'ended') {
      this.#adopt(s, s.state === 'active')
      if (this.#options.ownUI && s.state === 'authorizing') void tandem.consent(true)
    }
    void initializeMedia(this.#options.media).then(() => this.#initialized(tandem))
  }

  /** The page is loaded and its media ready: the session going on, if any, and the button. */
  #initialized (tandem: Tandem): void {
    if (this.#session) this.onConnected.dispatch(this.#session)
    this.onInitialized.dispatch(this.#session)
    if (!this.#session) this.#showButton()
    else if (tandem.session?.state === 'pending') this.#ui?.showToken(this.#session.token, false, this.exitSession)
  }

  #showButton (): void {
    this.#ui?.showButton(() => { void this.#pressed() })
  }

  /** The built-in button: asks about the phone when no chat agent can take the token. */
  async #pressed (): Promise<void> {
    const ui = this.#ui
    if (!ui) return
    if (!this.isBrowserSupported()) return ui.showProblem('unsupported', () => this.#showButton())
    if (agentConnected(this.#options.media) !== true && !await ui.askPhone()) {
      return ui.showContactFirst(() => this.#showButton())
    }
    ui.clear()
    this.startSession()
  }

  #updated (s: SessionResource): void {
    const session = this.#session
    if (!session || s.id !== this.#sessionId || s.state !== 'active') return
    this.#ui?.clear()
    for (const agent of s.agents ?? []) {
      if (this.#agents.has(agent.id)) continue
      this.#agents.add(agent.id)
      session.agents.push({})
      this.onAgentJoined.dispatch({}, session)
    }
  }

  #ended (s: SessionResource): void {
    this.#session = null
    this.#sessionId = null
    this.#agents.clear()
    for (const signal of [this.onSessionStarted, this.onConnected, this.onAgentJoined, this.onAgentNavigated, this.onNavigationFailed]) {
      signal.forget()
    }
    this.onSessionEnded.dispatch({ reason: endReason(s.ended_reason) })
    this.#showButton()
  }

  /** How the page answered an agent's navigation: it happens (after `onAgentNavigated`) or fails. */
  #navigation (data: any): void {
    if (!this.#session || !data) return
    if (data.status !== 'done') return this.onNavigationFailed.dispatch()
    const details: { command: string, url?: string } = { command: String(data.action) }
    if (data.action === 'url' && typeof data.url === 'string') details.url = data.url
    this.onAgentNavigated.dispatch(details)
    // Going back or forward with no history there (or a page that will not unload) goes nowhere.
    const left = (): void => { clearTimeout(timer); stop() }
    const events = ['beforeunload', 'pagehide', 'popstate', 'hashchange']
    const stop = (): void => { for (const e of events) removeEventListener(e, left) }
    for (const e of events) addEventListener(e, left)
    const timer = setTimeout(() => { stop(); this.onNavigationFailed.dispatch() }, NAVIGATION_GRACE_MS)
  }

  /** `onMaskedElement` for what the page masks now, and for what it adds later. */
  #watchMasked (tandem: Tandem): void {
    const selector = [tandem.redactionSelector, 'input[type="password"]'].filter(Boolean).join(', ')
    const report = (el: Element): void => {
      if (this.#masked.has(el) || el.closest(`.${serviceClass}`)) return
      this.#masked.add(el)
      // Late callbacks hear of the masked elements still on the page, not of every one ever.
      this.onMaskedElement.prune((args) => (args[0] as Element).isConnected)
      this.onMaskedElement.dispatch(el)
    }
    const scan = (root: Element): void => {
      try {
        if (root.matches(selector)) report(root)
        root.querySelectorAll(selector).forEach(report)
      } catch {
        // A selector this browser cannot read: nothing to report.
      }
    }
    scan(document.documentElement)
    new MutationObserver((records) => {
      for (const r of records) {
        r.addedNodes.forEach((n) => { if (n instanceof Element) scan(n) })
      }
    }).observe(document.documentElement, { childList: true, subtree: true })
  }
}
