// Tandem's customer-side SDK: registers the browser as a device, keeps its notification socket
// open (presence and connect requests), offers 6-digit codes, asks the customer's consent, and
// while a session is active streams the page to the agents in rrweb's format (recorder/).
import { record } from '@rrweb/record'
import { APIError, markJoin, type SessionResource } from '@tandem/core'
import { type Device, DeviceApi } from './api.js'
import { Fidelity } from './fidelity.js'
import { Recorder, warmUp } from './recorder/index.js'
import { Capture } from './capture.js'
import { agentConnected, type ExternalMediaAdapter, initializeMedia, sendToken } from './genesys/adapter.js'
import { DEFAULT_LIMITS, type Limits, Socket, type SocketProblem, socketUrl } from './socket.js'
import { type NavigationRequest, Tools } from './tools.js'
import { announce, stopAnnouncing } from './announce.js'
import type { Messages } from './messages.js'
import * as ui from './ui.js'
import { Zip, ZIPPED } from './zip.js'

export { APIError }
export type { SessionResource, Toggle } from '@tandem/core'
export type { Messages } from './messages.js'
export type { ExternalMediaAdapter } from './genesys/adapter.js'
export type { NavigationRequest, NavigationTarget } from './tools.js'

/** @deprecated The error class is `APIError`; `ApiError` is the same class under its old name. */
export const ApiError = APIError
/** @deprecated Use `APIError`. */
export type ApiError = APIError

export interface StartOptions {
  /** The account's license key. */
  license: string
  /** The Tandem server; defaults to this page's origin. */
  api?: string
  /** Flat key/value data agents can find this device by (`filter_user_id=…`). */
  customData?: Record<string, string | number | boolean | null>
  /**
   * The customer's visitor id (Glance's `GLANCE_COBROWSE.visitorid`): added to `customData`
   * under the key the account names for it (`visitor_id_key`), so that a viewer opened with
   * `visitorid=<it>` finds the sessions this page starts.
   */
  visitorId?: string
  /** Skip the built-in code, consent and banner UI and listen to events instead. */
  disableBuiltInUI?: boolean
  /**
   * The built-in UI's language, a BCP 47 tag (`'fr'`, `'de-AT'`); by default the browser's,
   * and English when Tandem does not speak it. Shipped: English, French and German.
   */
  locale?: string
  /** Any of the built-in UI's strings, in place of the shipped ones (`{agent}`-style placeholders). */
  messages?: Partial<Messages>
  /** CSS selectors of elements whose content never leaves the browser (added to the account's). */
  redactionSelectors?: string[]
  /**
   * CSS selectors of elements shown even inside a redacted region (added to the account's), for
   * pages that redact everything (`redactionSelectors: ['body']`) and show only what is safe.
   * The nearest match wins: a redacted element inside an unredacted one stays redacted.
   */
  unredactionSelectors?: string[]
}

/**
 * Redacted by default: hidden inputs, payment card fields and anything marked by the page.
 * (Password values are masked as well, by the recorder's input masking.)
 */
const DEFAULT_REDACTION = ['input[type="hidden"]', 'input[autocomplete^="cc-"]', '[data-tandem-redact]']

/**
 * Carries a session's 9-digit token to the agent over another channel (a chat, say). Tandem
 * sends it as `{start:123456789}`; the agent side reads it with `parseStartMessage`.
 */
export interface MediaAdapter {
  /** Gets the channel ready (open the chat widget, say). */
  initializeAsync (): Promise<void>
  /** Whether an agent is on the other end to receive the token. */
  isAgentConnected (): boolean
  /** Sends the message carrying the token. */
  sendSessionToken (message: string): void | Promise<void>
}

/** What the account lets agents do on this device (from the device registration). */
export interface AgentRules {
  /** Remote control waits for the customer to accept. */
  remoteControlConsent: boolean
  /** An agent in control may submit forms. */
  agentSubmit: boolean
  /** Origins (glob patterns) agents may send the customer to, besides the page's own. */
  navigationOrigins: string[]
}

interface Registration {
  device_token?: string
  account_name?: string
  redaction_selectors?: string[]
  unredaction_selectors?: string[]
  remote_control_consent?: boolean
  agent_submit?: boolean
  navigation_origins?: string[]
  visitor_id_key?: string
  max_message_bytes?: number
  max_event_bytes?: number
}

const STORAGE = 'tandem.device'
/** The session this tab is in, so that it carries on across the site's page loads. */
const SESSION_STORAGE = 'tandem.session'
/** The page's state for the agents (`setUserState`), kept with the session across page loads. */
const USER_STATE_STORAGE = 'tandem.userstate'
/** The session's last agents count (capture.ts), carried to the site's next page. */
const AGENTS_STORAGE = 'tandem.agents'
/** The most the user state may hold, as JSON. */
const MAX_USER_STATE = 16 * 1024

function deviceInfo (): Record<string, string> {
  return {
    platform: 'web',
    sdk_version: '0.1.0',
    device: navigator.userAgent.slice(0, 200),
    device_locale: navigator.language,
    device_timezone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? ''
  }
}

/** A selector the browser cannot parse would stop the recorder; it is dropped (and reported). */
function validSelector (selector: string): boolean {
  try {
    document.createDocumentFragment().querySelector(selector)
    return true
  } catch {
    console.warn(`Tandem: ignoring the invalid redaction selector ${JSON.stringify(selector)}`)
    return false
  }
}

function loadDevice (): Device | null {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE) ?? 'null')
    return saved && typeof saved.id === 'string' && typeof saved.token === 'string' ? saved : null
  } catch {
    return null
  }
}

/** Set on a window whose page has started Tandem. */
const RUNNING = '__tandemStarted'

/**
 * Whether this page is a frame inside a page of the same site that runs Tandem: that page's
 * recorder already shows this frame to the agent, and the session is that page's to carry.
 * (A site that puts the SDK on every page also puts it in the pages it frames; were both to
 * stream the session, the agent would see the frame's page replace the whole page.) Decided
 * once the top page has loaded, by when its own scripts have started Tandem.
 */
async function framedUnderTandem (): Promise<boolean> {
  let top: Window | null
  try {
    top = window.top
    if (!top || top === window) return false
    if (top.document.readyState !== 'complete') {
      await new Promise((resolve) => top?.addEventListener('load', resolve, { once: true }))
    }
    return Boolean((top as any)[RUNNING])
  } catch {
    // Another site's frame: not ours to defer to.
    return false
  }
}

/** Starts Tandem on this page. */
export async function start (options: StartOptions): Promise<Tandem> {
  if (!options?.license) throw new Error('Tandem.start needs { license }')
  ;(window as any)[RUNNING] = true
  ui.configure(options.locale, options.messages)
  const api = new DeviceApi(options.api ?? location.origin, options.license)
  const body = { device: deviceInfo(), custom_data: options.customData ?? {} }
  const saved = loadDevice()
  let reg: Registration | null = null
  if (saved) {
    api.device = saved
    try {
      reg = await api.request('PUT', `/devices/${encodeURIComponent(saved.id)}`, body)
    } catch (e) {
      // Another account, or a device the server no longer knows: register afresh.
      if (!(e instanceof APIError) || e.status === null || e.status >= 500) throw e
      api.device = null
    }
  }
  if (!api.device) {
    const id = crypto.randomUUID()
    reg = await api.request('POST', `/devices/${id}`, body)
    api.device = { id, token: reg?.device_token ?? '' }
    try { localStorage.setItem(STORAGE, JSON.stringify(api.device)) } catch { /* no storage: a new device next time */ }
  }
  const { redaction, unredaction, rules } = accountRules(reg, options)
  ui.setAccount(reg?.account_name)
  // The visitor id goes under the account's key (sent with the next registration, which comes
  // before any session the page starts).
  if (options.visitorId && reg?.visitor_id_key) {
    options = { ...options, customData: { ...options.customData, [reg.visitor_id_key]: String(options.visitorId) } }
  }
  const limits: Limits = {
    maxMessageBytes: reg?.max_message_bytes ?? DEFAULT_LIMITS.maxMessageBytes,
    maxEventBytes: reg?.max_event_bytes ?? DEFAULT_LIMITS.maxEventBytes
  }
  const tandem = new Tandem(api, options, redaction, unredaction, rules, limits, reg?.visitor_id_key)
  await tandem.resume()
  return tandem
}

/** The account's privacy and control rules from a registration, with the page's own added. */
function accountRules (reg: Registration | null, options: StartOptions): { redaction: string[], unredaction: string[], rules: AgentRules } {
  return {
    redaction: [...(reg?.redaction_selectors ?? []), ...(options.redactionSelectors ?? [])].filter(validSelector),
    unredaction: [...(reg?.unredaction_selectors ?? []), ...(options.unredactionSelectors ?? [])].filter(validSelector),
    rules: {
      remoteControlConsent: reg?.remote_control_consent !== false,
      agentSubmit: reg?.agent_submit === true,
      navigationOrigins: (reg?.navigation_origins ?? []).filter((o) => typeof o === 'string')
    }
  }
}

/**
 * Why session `s` ended, in the customer's terms: a decline (`consent` was asked and the
 * customer's device ended it before it started) is not the same as stopping a shared page.
 */
function ending (s: SessionResource, consent: 'none' | 'asked' | 'given'): ui.Ending {
  switch (s.ended_reason) {
    case 'device_ended': return consent === 'asked' ? 'declined' : 'you'
    case 'agent_ended': return 'agent'
    case 'pending_timeout': return s.agent ? 'timeout' : 'code_expired'
    case 'authorizing_timeout':
    case 'active_timeout': return 'timeout'
    default: return 'other'
  }
}

/** How often the recorder samples the pointer, in ms. */
const POINTER_SAMPLE = 50

/** Which of the page's elements never leave the browser, from the joined selector lists. */
export function privacyOptions (redaction: string, unredaction = '') {
  const redact = [...DEFAULT_REDACTION, redaction].filter(Boolean).join(', ')
  if (!unredaction) {
    // Redacted elements are recorded as empty boxes of the same size: their text, values,
    // attributes, shadow roots and frames are never read into an event.
    return { blockClass: ui.serviceClass, blockSelector: redact }
  }
  const R = `:is(${redact})`
  const U = `:is(${unredaction})`
  return {
    blockClass: ui.serviceClass,
    // With unredaction, a redacted region is recorded as the path down to its unredacted parts:
    // every element in it that neither is nor holds an unredacted element is an empty box, as
    // is every element matching a redaction selector itself (unless it holds one).
    blockSelector: [
      `${R}:not(${U}):not(:has(${U}))`,
      `${R} *:not(${U}):not(${U} *):not(:has(${U}))`
    ].join(', '),
    // The text left on that path (directly inside a redacted element that holds an unredacted
    // one) is masked: the nearest matching ancestor decides.
    maskTextSelector: R,
    maskTextFn: (text: string, element: HTMLElement | null) => {
      for (let el = element; el; el = el.parentElement) {
        if (el.matches(U)) return text
        if (el.matches(R)) break
      }
      return text.replace(/\S/g, '*')
    }
  }
}

/** How the SDK runs rrweb's recorder, given the joined (un)redaction selectors. */
export function recordOptions (redaction: string, unredaction = '') {
  return {
    ...privacyOptions(redaction, unredaction),
    maskInputOptions: { password: true },
    // Pointer positions every 50 ms, sent every 50 ms (rrweb batches them for 500 ms by
    // default, which agents see as a lagging pointer).
    sampling: { mousemove: POINTER_SAMPLE, mousemoveCallback: POINTER_SAMPLE },
    // A fresh snapshot every two minutes keeps the server's replay for late joiners short.
    checkoutEveryNms: 120_000
  }
}

/**
 * rrweb samples pointer moves at most every `POINTER_SAMPLE` ms and drops the moves in between
 * (no trailing sample), so where the pointer comes to rest can be missed, and the agent sees it,
 * and the :hover under it, a little way back. This follows the same clock: a move the recorder
 * dropped is repeated (at its place, the latest one) as soon as the recorder takes moves again,
 * unless a later move was taken first. The page sees those repeated moves too, at places the
 * pointer really was. Returns the function that stops it.
 */
function repeatDroppedPointerMoves (): () => void {
  let sampled = 0
  let dropped: MouseEvent | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  const repeat = (): void => {
    timer = undefined
    const e = dropped
    dropped = null
    if (!e || !(e.target instanceof Node) || !e.target.isConnected) return
    sampled = Date.now()
    e.target.dispatchEvent(new MouseEvent('mousemove', {
      clientX: e.clientX, clientY: e.clientY, bubbles: true, composed: true, view: window
    }))
  }
  const onMove = (e: MouseEvent): void => {
    if (!e.isTrusted) return
    const now = Date.now()
    if (now - sampled >= POINTER_SAMPLE) {
      // The recorder takes this one.
      sampled = now
      dropped = null
      clearTimeout(timer)
      timer = undefined
      return
    }
    dropped = e
    timer ??= setTimeout(repeat, sampled + POINTER_SAMPLE + 5 - now)
  }
  addEventListener('mousemove', onMove, { capture: true, passive: true })
  return () => {
    clearTimeout(timer)
    removeEventListener('mousemove', onMove, { capture: true })
  }
}

export class Tandem extends EventTarget {
  readonly #api: DeviceApi
  readonly #builtInUI: boolean
  readonly #options: StartOptions
  #redaction: string
  #unredaction: string
  /** The page's custom data, given to the sessions it starts too (agents list them by it). */
  readonly #customData: Record<string, string | number | boolean | null>
  #rules: AgentRules
  readonly #limits: Limits
  #tools: Tools | null = null
  /** The remote control request the customer was asked about (asked once per request). */
  #controlAsked = false
  #notifications: Socket
  #session: SessionResource | null = null
  #stream: Socket | null = null
  /** Stops the recorder; resolves once its last events are handed to the socket. */
  #stopRecording: (() => Promise<void>) | null = null
  /** Sends what a recorder started ahead of the agents count held (capture.ts). */
  #releaseRecording: (() => void) | null = null
  /** The page's recorder while agents watch the page (capture.ts). */
  #recorder: Recorder | null = null
  /** When the page records, while its session's stream is open. */
  #capture: Capture | null = null
  #consent: 'none' | 'asked' | 'given' = 'none'
  /** Whether the built-in UI showed this session (a code, a question or the indicator). */
  #shown = false
  /** The account's `visitor_id_key`, from the registration. */
  #visitorIdKey = ''
  /** What the page told the agents with `setUserState`, by name. */
  #userState: Record<string, unknown> = {}
  /**
   * Asks the customer about a navigation that came with Glance's `confirm` (the Glance visitor
   * API sets it while the page listens for `confirm`); null asks with the built-in question.
   */
  navigationConfirm: ((request: NavigationRequest) => Promise<boolean> | null) | null = null

  constructor (
    api: DeviceApi,
    options: StartOptions,
    redaction: string[],
    unredaction: string[] = [],
    rules: AgentRules = { remoteControlConsent: true, agentSubmit: false, navigationOrigins: [] },
    limits: Limits = DEFAULT_LIMITS,
    visitorIdKey = ''
  ) {
    super()
    this.#visitorIdKey = visitorIdKey
    this.#options = options
    this.#rules = rules
    this.#limits = limits
    this.#api = api
    this.#builtInUI = !options.disableBuiltInUI
    this.#redaction = redaction.join(', ')
    this.#unredaction = unredaction.join(', ')
    this.#customData = options.customData ?? {}
    try { this.#userState = JSON.parse(sessionStorage.getItem(USER_STATE_STORAGE) ?? '{}') ?? {} } catch { /* none kept */ }
    const device = api.device as Device
    this.#notifications = new Socket(
      socketUrl(api.base, { 'X-CobrowseLicense': api.license, 'X-CobrowseDevice': device.id, 'X-CobrowsePlatform': 'web' }),
      device.token,
      (event, data) => this.#onEvent(event, data),
      {
        onOpen: () => { if (this.#session) this.#notifications.send('subscribe', this.#session.control_token) },
        onProblem: (problem) => this.#socketProblem(problem)
      }
    )
  }

  get deviceId (): string { return (this.#api.device as Device).id }
  /** What never leaves the browser (the defaults, the account's and the page's), as a selector. */
  get redactionSelector (): string { return privacyOptions(this.#redaction, this.#unredaction).blockSelector }
  /** The custom data key the account keeps visitor ids under (empty: none). */
  get visitorIdKey (): string { return this.#visitorIdKey }
  get session (): SessionResource | null { return this.#session }
  /** Whether the page is being recorded now: while an agent watches it (capture.ts). */
  get recording (): boolean { return this.#recorder !== null }

  /**
   * Creates a session and returns its 6-digit code for the customer to read to an agent;
   * `customData` adds to the page's for this session alone.
   */
  async createSessionCode (customData?: Record<string, string | number | boolean | null>): Promise<string> {
    await this.#refreshRules()
    const s = await this.#api.request<SessionResource>('POST', '/sessions', { custom_data: { ...this.#customData, ...customData } })
    this.#track(s)
    if (this.#builtInUI && s.code) {
      ui.showCode(s.code)
      this.#shown = true
    }
    return s.code ?? ''
  }

  /**
   * Creates a session and returns its 9-digit token; with a media adapter whose agent is
   * connected, also sends the token through it: `{start:<token>}` to `sendSessionToken`, or
   * the token to a Genesys adapter's `sendCbSessionToken`.
   */
  async startSession (adapter?: MediaAdapter | ExternalMediaAdapter): Promise<string> {
    await this.#refreshRules()
    const s = await this.#api.request<SessionResource>('POST', '/sessions', { custom_data: this.#customData })
    this.#track(s)
    const token = s.access_token ?? ''
    if (adapter) {
      await initializeMedia(adapter)
      if (agentConnected(adapter) !== false) await sendToken(adapter, token)
    }
    return token
  }

  /**
   * Joins the session an agent created and gave the customer the 6-digit code of (a viewer
   * opened with `ssncode=<code>&wait=1` opens it at once). The customer is asked for consent as
   * usual.
   */
  async joinWithCode (code: string): Promise<SessionResource> {
    const digits = String(code ?? '').replace(/\s/g, '')
    if (!/^\d{6}$/.test(digits)) throw new Error('a session code is six digits')
    if (this.#session && this.#session.state !== 'ended') throw new Error('this page is in a session already')
    await this.#refreshRules()
    const joined = await this.#api.request<SessionResource>('PUT', `/sessions/${digits}`, {})
    this.#track(joined)
    return joined
  }

  /**
   * Keeps `value` under `name` for the agents (Glance's `setUserState`): their viewer hears the
   * page's whole state whenever it changes and whenever it (re)joins. It lasts until the
   * session ends, across the site's page loads. `undefined` removes a name.
   */
  setUserState (name: string, value: unknown): void {
    if (typeof name !== 'string' || !name || name.length > 100) throw new Error('user state needs a name (at most 100 characters)')
    const next = { ...this.#userState }
    if (value === undefined) delete next[name]
    else next[name] = value
    let json: string
    try { json = JSON.stringify(next) } catch { throw new Error('user state must be plain data (JSON)') }
    if (json.length > MAX_USER_STATE) throw new Error(`user state is limited to ${MAX_USER_STATE} bytes of JSON`)
    this.#userState = JSON.parse(json)
    try { sessionStorage.setItem(USER_STATE_STORAGE, json) } catch { /* not carried to the next page */ }
    this.#sendUserState()
  }

  /** What `setUserState` kept under `name`. */
  getUserState (name: string): unknown {
    return this.#userState[name]
  }

  #sendUserState (): void {
    if (this.#stream && Object.keys(this.#userState).length) this.#stream.send('userstate', { state: this.#userState })
  }

  /** Ends the current session. */
  async end (): Promise<void> {
    if (this.#session) await this.#update({ state: 'ended' })
  }

  /**
   * Sends a message of the site's own to the agents in the session (their viewer passes it to
   * the helpdesk page embedding it, as `message`). Only while a session is active.
   */
  sendMessage (name: string, payload?: unknown): void {
    if (typeof name !== 'string' || !name || name.length > 100) throw new Error('a message needs a name (at most 100 characters)')
    if (!this.#stream) throw new Error('messages can be sent while a session is active')
    this.#stream.send('message', { name, payload: payload ?? null })
  }

  /** A message from the agent's side: `message` events with `{name, payload}`. */
  #onMessage (data: any): void {
    if (!data || typeof data.name !== 'string') return
    this.#emit('message', { name: data.name, payload: data.payload ?? null })
  }

  /**
   * Gives or refuses remote control when an agent asked for it, or takes it back (`false`)
   * while an agent has it.
   */
  async remoteControl (yes: boolean): Promise<void> {
    const current = this.#session?.remote_control
    if (yes) {
      if (current === 'requested') await this.#update({ remote_control: 'on' })
    } else if (current === 'requested') {
      await this.#update({ remote_control: 'rejected' })
    } else if (current === 'on') {
      await this.#update({ remote_control: 'off' })
    }
  }

  /** Answers the consent question (for sites with their own UI). */
  async consent (yes: boolean): Promise<void> {
    this.#consent = yes ? 'given' : 'asked'
    if (yes) markJoin('consent')
    await this.#update({ state: yes ? 'active' : 'ended' })
  }

  async #update (patch: Record<string, unknown>): Promise<void> {
    const s = this.#session
    if (!s) return
    const next = await this.#api.request<SessionResource>('PUT', `/sessions/${s.id}`, patch)
    this.#onSession(next)
  }

  /** Re-attaches to the session this tab was in before the page changed, if it is still live. */
  async resume (): Promise<void> {
    if (await framedUnderTandem()) return
    let saved: { id?: string } | null = null
    try { saved = JSON.parse(sessionStorage.getItem(SESSION_STORAGE) ?? 'null') } catch { /* none to resume */ }
    if (!saved?.id) return
    try {
      const s = await this.#api.request<SessionResource>('GET', `/sessions/${encodeURIComponent(saved.id)}`)
      if (s.state === 'ended') return this.#forget()
      this.#track(s, s.state === 'active' ? 'given' : 'none')
    } catch {
      this.#forget()
    }
  }

  #forget (): void {
    this.#userState = {}
    try {
      sessionStorage.removeItem(SESSION_STORAGE)
      sessionStorage.removeItem(USER_STATE_STORAGE)
      sessionStorage.removeItem(AGENTS_STORAGE)
    } catch { /* no storage, nothing kept */ }
  }

  #track (s: SessionResource, consent: 'none' | 'given' = 'none'): void {
    this.#session = s
    this.#consent = consent
    try { sessionStorage.setItem(SESSION_STORAGE, JSON.stringify({ id: s.id })) } catch { /* not carried to the next page */ }
    this.#notifications.send('subscribe', s.control_token)
    this.#onSession(s)
  }

  #emit (name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail }))
  }

  #onEvent (event: string, data: any): void {
    if (event === 'session') this.#onSession(data)
    if (event === 'notification' && data?.session) void this.#joinRequested(data.session)
  }

  /** An agent asked this device to join their session. */
  async #joinRequested (session: SessionResource): Promise<void> {
    if (this.#session && this.#session.state !== 'ended') return
    // The page around this frame answers the request (it shares this device).
    if (await framedUnderTandem()) return
    this.#session = session
    await this.#refreshRules()
    // A device joins a session that is not yet its own by the session's code (the server
    // counts failed codes against a budget); the agent's request carries it.
    const handle = session.code ?? session.id
    const joined = await this.#api.request<SessionResource>('PUT', `/sessions/${encodeURIComponent(handle)}`, {})
    this.#track(joined)
  }

  #onSession (s: SessionResource): void {
    if (!this.#session || s.id !== this.#session.id) return
    this.#session = s
    this.#emit('session.updated', s)
    // The built-in UI says "A support agent" (in its language) for an agent without a name.
    const agent = s.agent?.name ?? ''
    if (s.state === 'authorizing' && this.#consent === 'none') {
      this.#consent = 'asked'
      warmUp()
      this.#emit('consent.requested', s)
      if (this.#builtInUI) {
        this.#shown = true
        ui.askConsent(agent, (yes) => { void this.consent(yes) })
      }
    }
    if (s.state === 'active' && !this.#stream) {
      markJoin('active')
      this.#startStream(s)
      this.#emit('session.started', s)
    }
    if (s.state === 'active') {
      this.#onAgentRequests(s, agent)
      if (this.#builtInUI) {
        const stop = s.remote_control === 'on' ? () => { void this.remoteControl(false) } : undefined
        ui.showBanner(agent, () => { void this.end() }, stop)
        this.#shown = true
      }
    }
    if (s.state === 'ended') {
      this.#forget()
      this.#stopStream()
      if (this.#builtInUI && this.#shown) ui.showEnded(ending(s, this.#consent), agent)
      else if (this.#builtInUI) ui.clear()
      this.#shown = false
      this.#emit('session.ended', { session: s, reason: s.ended_reason })
      this.#session = null
    }
  }

  /** Remote control and full-device requests from the agent, while the session is active. */
  #onAgentRequests (s: SessionResource, agent: string): void {
    if (s.remote_control === 'requested' && !this.#controlAsked) {
      this.#controlAsked = true
      if (!this.#rules.remoteControlConsent) {
        void this.remoteControl(true)
      } else {
        this.#emit('remote_control.requested', s)
        if (this.#builtInUI) ui.askControl(agent, (yes) => { void this.remoteControl(yes) })
      }
    } else if (s.remote_control !== 'requested') {
      this.#controlAsked = false
      if (this.#builtInUI) ui.dropControlRequest()
    }
    // A web page cannot share the whole device: the request is answered as such.
    if (s.full_device === 'requested') {
      this.#emit('full_device.unsupported', s)
      void this.#update({ full_device: 'rejected' }).catch(() => {})
    }
  }

  /**
   * Reads the account's rules again before a session starts, so that what an administrator
   * changed in the dashboard (a redaction selector, say) holds for pages that were already open.
   * If the server cannot be reached, the rules read when the page loaded stay.
   */
  async #refreshRules (): Promise<void> {
    const device = this.#api.device as Device
    try {
      const reg = await this.#api.request<Registration>('PUT', `/devices/${encodeURIComponent(device.id)}`, {
        device: deviceInfo(),
        custom_data: this.#customData
      })
      const { redaction, unredaction, rules } = accountRules(reg, this.#options)
      ui.setAccount(reg?.account_name)
      this.#redaction = redaction.join(', ')
      this.#unredaction = unredaction.join(', ')
      this.#rules = rules
    } catch (e) {
      console.warn('Tandem: could not refresh the account\'s settings; using those read at page load', e)
    }
  }

  /** Whether an agent may not read nor type into `el`: redacted, masked, or the SDK's own. */
  #redacted (el: Element): boolean {
    const { blockSelector } = privacyOptions(this.#redaction, this.#unredaction)
    try {
      if (el.closest(`.${ui.serviceClass}, input[type="password"]`)) return true
      return el.closest(blockSelector) !== null
    } catch {
      return true
    }
  }

  /** Asks the customer (built-in UI), or the site (`navigation.requested`, answer within a minute). */
  #confirm (question: string): Promise<boolean> {
    if (this.#builtInUI) return ui.confirm(question)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 60_000)
      this.#emit('navigation.requested', {
        question,
        answer: (yes: boolean) => { clearTimeout(timer); resolve(yes) }
      })
    })
  }

  #startStream (s: SessionResource): void {
    const device = this.#api.device as Device
    const stream = new Socket(
      socketUrl(this.#api.base, {
        'X-CobrowseLicense': this.#api.license,
        'X-CobrowseDevice': device.id,
        'X-CobrowseSession': s.id
      }),
      device.token,
      (event, data) => {
        // An agent joined or lost its place: send the whole page again (and the page's state).
        if (event === 'sync') {
          this.#capture?.sync()
          this.#sendUserState()
        } else if (event === 'agents') {
          this.#capture?.agents(data?.count)
          try { sessionStorage.setItem(AGENTS_STORAGE, JSON.stringify({ id: s.id, count: data?.count })) } catch { /* not carried */ }
        } else if (event === 'message') this.#onMessage(data)
        else if (event === 'announce') announce(data, this.#session?.agent?.name || ui.phrase('someAgent', {}))
        else this.#tools?.handle(event, data)
      },
      {
        limits: this.#limits,
        // Events sent while the stream was down never reached the agents: a fresh snapshot
        // puts their view right again, if they are still there (capture.ts).
        onOpen: (reconnected) => {
          markJoin('stream-open')
          this.#capture?.opened(reconnected)
          this.#sendUserState()
        },
        onProblem: (problem) => this.#socketProblem(problem)
      }
    )
    this.#stream = stream
    // The page records only while agents watch it, or when asked for a snapshot (capture.ts).
    this.#capture = new Capture({
      running: () => this.#recorder !== null,
      start: (held) => this.#record(stream, held),
      release: () => this.#releaseRecording?.(),
      snapshot: () => { void this.#recorder?.takeFullSnapshot(true) },
      stop: () => {
        const last = this.#stopRecording?.()
        this.#stopRecording = null
        this.#releaseRecording = null
        // After the last events: the server drops its copy of the page, so that no agent is
        // shown it as it was.
        void last?.then(() => stream.send('recording-stopped'))
      }
    })
    this.#tools = new Tools({
      redacted: (el) => this.#redacted(el),
      agentSubmit: this.#rules.agentSubmit,
      navigationOrigins: this.#rules.navigationOrigins,
      controlOn: () => this.#session?.remote_control === 'on',
      agentName: () => this.#session?.agent?.name || 'Your support agent',
      confirm: (question) => this.#confirm(question),
      confirmNavigation: (request) => this.navigationConfirm?.(request) ?? null,
      send: (event, data) => {
        // The page hears how each of the agent's navigation requests was answered.
        if (event === 'navigation') this.#emit('navigation', data)
        stream.send(event, data)
      }
    })
    // Each page load in a session is a visit the agent (and the session's history) can follow.
    stream.send('page', { url: location.href, title: document.title })
    // The first snapshot is taken while the stream opens, unless the page before this one
    // heard that nobody watches.
    let last: { id?: string, count?: number } | null = null
    try { last = JSON.parse(sessionStorage.getItem(AGENTS_STORAGE) ?? 'null') } catch { /* none heard */ }
    this.#capture.begin(!(last?.id === s.id && last.count === 0))
  }

  /**
   * Starts recording the page onto `stream` (`held`: what it records waits for
   * `#releaseRecording`); `#stopRecording` stops it and lets the page go.
   */
  #record (stream: Socket, held: boolean): void {
    const options = recordOptions(this.#redaction, this.#unredaction)
    const send = (event: string, data: any): void => {
      stream.send(event, data)
      if (data?.type === 2 || data?.types?.includes(2)) markJoin('snapshot')
    }
    // What is recorded before the server says anyone watches (capture.ts); never sent if the
    // recording stops first.
    let waiting: Array<[string, unknown]> | null = held ? [] : null
    this.#releaseRecording = () => {
      const events = waiting ?? []
      waiting = null
      for (const [event, data] of events) send(event, data)
    }
    // Mends what the recorder gets wrong on real pages, and adds focus and canvases (fidelity.ts).
    // Snapshots and batches of events go compressed (zip.ts).
    const zip = new Zip((event, data) => {
      if (waiting) waiting.push([event, data])
      else send(event, data)
    })
    const fidelity = new Fidelity(record, options, zip.push)
    // The full snapshot is taken in slices: the page never stops for it (recorder/).
    const recorder = new Recorder(options, fidelity.emit, fidelity.mendNode)
    this.#recorder = recorder
    void recorder.start().then(() => { if (this.#recorder === recorder) fidelity.start() })
    const stopRest = repeatDroppedPointerMoves()
    this.#stopRecording = () => {
      stopRest()
      fidelity.stop()
      recorder.stop()
      this.#recorder = null
      zip.flush()
      return zip.sent
    }
  }

  /**
   * Something could not reach the agents: the page hears it (`error`), and so do the agents,
   * in words, rather than watching a page that never arrives. A frame that arrived and was
   * dropped (`frame_refused`) is only the page's to hear.
   */
  #socketProblem (problem: SocketProblem): void {
    const tooLarge = problem.id === 'event_too_large' && (problem.event === 'rrweb' || problem.event === ZIPPED)
    const message = tooLarge ? 'This page is too large to share with the agent' : problem.message
    console.warn(`Tandem: ${message} (${problem.id})`)
    this.#emit('error', { id: problem.id, message, bytes: problem.bytes })
    if (problem.id === 'frame_refused') return
    const notice = tooLarge ? "The customer's page is too large to share" : 'Part of the customer\'s page could not be sent'
    this.#stream?.send('stream-error', { id: problem.id, message: notice })
  }

  #stopStream (): void {
    stopAnnouncing()
    this.#capture?.close()
    this.#capture = null
    this.#tools?.stop()
    this.#tools = null
    void this.#stopRecording?.()
    this.#stopRecording = null
    this.#releaseRecording = null
    this.#stream?.close()
    this.#stream = null
  }
}
