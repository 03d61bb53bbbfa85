// GLANCE.Cobrowse.Visitor on Tandem: the customer side of Glance's Cobrowse API, for pages
// written for Glance (the agent side is GLANCE.Cobrowse.Agent, @tandem/agent's glance/). It
// drives a started Tandem (the web SDK) and speaks Glance's names: `startSession(key)`,
// `stopSession()`, events by `addEventListener` (`sessionstarting`, `sessionstart`,
// `sessioncontinue`, `sessionend`, `agents`, `rcrequested`, `rc`, `confirm`, `error`), session
// messages both ways and the user state agents read with `getUserState`.
import type { SessionResource } from '@tandem/core'
import type { Tandem } from '../index.js'
import type { NavigationRequest } from '../tools.js'

export type Listener = (data: any) => void
export type MessageListener = (msgName: string, msg: unknown) => void

/** Glance's random-key request: Tandem's codes are always random. */
export const RANDOM_KEY = 'GLANCE_KEYTYPE_RANDOM'

/** Why a session ended, in Glance's words. */
function endReason (reason: string | null | undefined): string {
  if (reason === 'device_ended') return 'visitor'
  if (reason === 'agent_ended') return 'agent'
  if (reason?.endsWith('_timeout')) return 'timeout'
  return 'error'
}

/** The visitor's side of a Glance session, over a Tandem that is starting or started. */
export class GlanceVisitor {
  readonly #ready: Promise<Tandem>
  readonly #listeners = new Map<string, Set<Listener>>()
  readonly #messageListeners = new Map<string, Set<MessageListener>>()
  #tandem: Tandem | null = null
  /** The session's code or id as the page was told it (`sessionstart {key}`). */
  #key = ''
  #agents = -1
  #rc = false
  #id = ''

  constructor (ready: Promise<Tandem>) {
    this.#ready = ready
    ready.then((tandem) => this.#attach(tandem), (e: unknown) => {
      this.#fire('error', { code: 'service', msg: `Tandem could not start: ${(e as Error).message}` })
    })
  }

  /**
   * Starts a session. A 6-digit `sessionKey` joins the session an agent created with that code
   * (the agent's viewer, opened with `ssncode=<it>&wait=1`, opens at once); anything else starts
   * a session with a random code for the customer to read out: `GLANCE_KEYTYPE_RANDOM`, nothing
   * (with `GLANCE_COBROWSE.visitorid`, if set, as the visitor id) or another string, taken as
   * the visitor id for this session.
   */
  startSession (sessionKey?: string): Promise<void> {
    this.#fire('sessionstarting', {})
    return this.#ready.then(async (tandem) => {
      const key = typeof sessionKey === 'string' ? sessionKey.replace(/\s/g, '') : ''
      if (/^\d{6}$/.test(key)) {
        this.#key = key
        await tandem.joinWithCode(key)
      } else {
        const visitor = sessionKey && sessionKey !== RANDOM_KEY && tandem.visitorIdKey
          ? { [tandem.visitorIdKey]: sessionKey }
          : undefined
        this.#key = await tandem.createSessionCode(visitor)
      }
      const s = tandem.session
      if (s) this.#onSession(s, 'sessionstart')
    }).catch((e: unknown) => {
      this.#fire('error', { code: 'service', msg: (e as Error).message })
      throw e
    })
  }

  /** Ends the session for everyone. */
  stopSession (): Promise<void> {
    return this.#ready.then((tandem) => tandem.end())
  }

  /** Whether a session is running on this page. */
  inSession (): boolean {
    const s = this.#tandem?.session
    return Boolean(s && s.state !== 'ended')
  }

  /** The session's key: its code while it has one. */
  getKey (): string {
    return this.inSession() ? this.#key : ''
  }

  addEventListener (name: string, listener: Listener): void {
    if (typeof name !== 'string' || typeof listener !== 'function') throw new TypeError('addEventListener(eventName, listener)')
    let set = this.#listeners.get(name)
    if (!set) this.#listeners.set(name, set = new Set())
    set.add(listener)
  }

  removeEventListener (name: string, listener: Listener): void {
    this.#listeners.get(name)?.delete(listener)
  }

  /** Calls `listener(msgName, msg)` for the agent's `sendSessionMessage(msgName, msg)`. */
  addSessionMessageListener (msgName: string, listener: MessageListener): void {
    if (typeof msgName !== 'string' || !msgName || typeof listener !== 'function') {
      throw new TypeError('addSessionMessageListener(msgName, listener)')
    }
    let set = this.#messageListeners.get(msgName)
    if (!set) this.#messageListeners.set(msgName, set = new Set())
    set.add(listener)
  }

  removeSessionMessageListener (msgName: string, listener: MessageListener): void {
    this.#messageListeners.get(msgName)?.delete(listener)
  }

  /** Sends a message to the agents (their `addSessionMessageListener(msgName, …)`). Only while
   * the session is active. */
  sendSessionMessage (msgName: string, msg?: unknown): void {
    const tandem = this.#tandem
    if (!tandem) throw new Error('Tandem has not started yet')
    tandem.sendMessage(msgName, msg ?? null)
  }

  /** Keeps `value` under `name` on the session, for the agents' `getUserState(name)`. */
  setUserState (name: string, value: unknown): void {
    const tandem = this.#tandem
    if (!tandem) {
      void this.#ready.then((t) => t.setUserState(name, value))
      return
    }
    tandem.setUserState(name, value)
  }

  getUserState (name: string): unknown {
    return this.#tandem?.getUserState(name)
  }

  #fire (name: string, data: unknown): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(data)
      } catch (e) {
        console.error(`GLANCE.Cobrowse.Visitor: a ${name} listener failed`, e)
      }
    }
  }

  #attach (tandem: Tandem): void {
    this.#tandem = tandem
    tandem.addEventListener('session.updated', (e) => this.#onSession((e as CustomEvent).detail, null))
    tandem.addEventListener('session.ended', (e) => {
      const { reason } = (e as CustomEvent).detail ?? {}
      this.#agents = -1
      this.#rc = false
      this.#id = ''
      this.#fire('sessionend', { reason: endReason(reason) })
    })
    tandem.addEventListener('message', (e) => {
      const { name, payload } = (e as CustomEvent).detail ?? {}
      for (const listener of [...(this.#messageListeners.get(name) ?? [])]) {
        try {
          listener(name, payload)
        } catch (err) {
          console.error(`GLANCE.Cobrowse.Visitor: a ${String(name)} message listener failed`, err)
        }
      }
    })
    tandem.addEventListener('remote_control.requested', () => {
      this.#fire('rcrequested', {
        accept: () => { void tandem.remoteControl(true) },
        decline: () => { void tandem.remoteControl(false) }
      })
    })
    tandem.addEventListener('error', (e) => {
      const { id, message } = (e as CustomEvent).detail ?? {}
      this.#fire('error', { code: String(id ?? 'error'), msg: String(message ?? '') })
    })
    // Navigations that come with `confirm` are the page's to confirm, while it listens.
    tandem.navigationConfirm = (request: NavigationRequest) => {
      if (!this.#listeners.get('confirm')?.size) return null
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 60_000)
        const answer = (yes: boolean) => () => { clearTimeout(timer); resolve(yes) }
        this.#fire('confirm', { ...request, accept: answer(true), decline: answer(false) })
      })
    }
    // A session this tab was in carries on across the site's page loads.
    const s = tandem.session
    if (s && s.state !== 'ended') this.#onSession(s, 'sessioncontinue')
  }

  /** The session changed: `start` (with its key) when it is new here, `agents` and `rc`. */
  #onSession (s: SessionResource, start: 'sessionstart' | 'sessioncontinue' | null): void {
    if (s.state === 'ended') return
    if (s.id !== this.#id) {
      this.#id = s.id
      this.#key = s.code ?? this.#key
      this.#fire(start ?? 'sessionstart', { key: this.#key })
    }
    const agents = s.agents?.length ?? 0
    if (agents !== this.#agents) {
      this.#agents = agents
      this.#fire('agents', { count: agents, agentlist: (s.agents ?? []).map((a) => ({ name: a.name ?? '' })) })
    }
    const rc = s.remote_control === 'on'
    if (rc !== this.#rc) {
      this.#rc = rc
      this.#fire('rc', { enabled: rc })
    }
  }
}
