// Sessions: `/api/1/sessions`, and the Session resource that follows its live updates.
import { Emitter } from './emitter.js'
import { type Context, segment, toDate } from './context.js'
import { Following } from './realtime.js'
import { APIError, type Query, type RequestOptions } from '@tandem/core'
import type {
  Agent, CustomData, DeviceInfo, EndedReason, NewSession, SessionHistoryResource, SessionPatch, SessionResource,
  SessionState, SessionsQuery, Toggle
} from './types.js'

export type SessionEvents = {
  /** The session's data changed, or the socket pushed it. */
  updated: [session: Session]
  /** The session ended (emitted once). */
  ended: [session: Session]
}

/**
 * A co-browsing session. Its fields read the latest data the SDK has; `fetch()`, `update()` and
 * pushed events (after `subscribe()`) refresh it in place.
 */
export class Session extends Emitter<SessionEvents> {
  #ctx: Context
  #resource: SessionResource
  #endedSeen: boolean
  #following: Following

  private constructor (ctx: Context, resource: SessionResource) {
    super()
    this.#ctx = ctx
    this.#resource = resource
    this.#following = new Following(ctx.realtime)
    this.#endedSeen = resource.state === 'ended'
  }

  /** @internal */
  static from (ctx: Context, resource: SessionResource): Session {
    return new Session(ctx, resource)
  }

  /** The session's unique id. */
  get id (): string { return this.#resource.id }
  /** The 6-digit code a customer reads out; only while the session is pending. */
  get code (): string | null { return this.#resource.code ?? null }
  /** `pending` → (`authorizing` →) `active` → `ended`. */
  get state (): SessionState { return this.#resource.state }
  /** Your metadata on this session, for filtering and for your own records. */
  get custom_data (): CustomData { return this.#resource.custom_data ?? {} }
  get recorded (): boolean { return this.#resource.recorded ?? false }
  get created (): Date | null { return toDate(this.#resource.created) }
  get updated (): Date | null { return toDate(this.#resource.updated) }
  /** When the customer accepted; `null` until then. */
  get activated (): Date | null { return toDate(this.#resource.activated) }
  get ended (): Date | null { return toDate(this.#resource.ended) }
  /** When the code stops working (pending sessions). */
  get expires (): Date | null { return toDate(this.#resource.expires) }
  /** The agent who started or took the session. */
  get agent (): Agent | null { return this.#resource.agent ?? null }
  /** Every agent who has joined. */
  get agents (): Agent[] { return this.#resource.agents ?? [] }
  /** The customer's device, as its SDK reports it. */
  get device (): DeviceInfo | null { return this.#resource.device ?? null }
  get full_device (): Toggle { return this.#resource.full_device ?? 'off' }
  get remote_control (): Toggle { return this.#resource.remote_control ?? 'off' }
  get ended_reason (): EndedReason | undefined { return this.#resource.ended_reason ?? undefined }
  /** The colours agents may draw with in this session. */
  get colours (): string[] { return this.#resource.colours ?? [] }
  get region (): string | null { return this.#resource.region ?? null }

  isPending (): boolean { return this.state === 'pending' }
  isAuthorizing (): boolean { return this.state === 'authorizing' }
  isActive (): boolean { return this.state === 'active' }
  isEnded (): boolean { return this.state === 'ended' }

  /** Reads the session again. */
  async fetch (query?: Query, options?: RequestOptions): Promise<this> {
    const resource = await this.#ctx.client.request<SessionResource>('GET', this.#path(), { query, signal: options?.signal })
    this.#apply(resource, false)
    return this
  }

  /** Changes the session (`PUT` with the partial body) and refreshes this object. */
  async update (patch: SessionPatch = {}, query?: Query, options?: RequestOptions): Promise<this> {
    const resource = await this.#ctx.client.request<SessionResource>('PUT', this.#path(), {
      query,
      body: { ...patch, id: this.id },
      signal: options?.signal
    })
    this.#apply(resource, false)
    return this
  }

  /** What happened: the pages the customer loaded (with how long each stayed in view) and the
   * agents' comings and goings. */
  async history (options?: RequestOptions): Promise<SessionHistoryResource> {
    return await this.#ctx.client.request<SessionHistoryResource>('GET', `${this.#path()}/history`, { signal: options?.signal })
  }

  /** Ends the session (final: ending it again is a 409 `APIError`). */
  async end (state: 'ended' = 'ended', query?: Query, options?: RequestOptions): Promise<this> {
    return await this.update({ state }, query, options)
  }

  /** Asks for (`requested`) or leaves (`off`) full-device mode; the customer must accept. */
  async setFullDevice (state: 'off' | 'requested', query?: Query, options?: RequestOptions): Promise<boolean> {
    await this.update({ full_device: state }, query, options)
    return true
  }

  /** Asks for remote control (`requested`) or gives it up (`off`); the customer must accept. */
  async setRemoteControl (state: Toggle, query?: Query, options?: RequestOptions): Promise<void> {
    await this.update({ remote_control: state }, query, options)
  }

  /**
   * Follows this session live: `updated` on every pushed change, `ended` once when it ends.
   * Resolves when the server has acknowledged the subscription.
   */
  async subscribe (): Promise<void> {
    if (!this.#following.active && !this.#resource.control_token) await this.fetch()
    const following = this.#following.ready
    if (following) return await following
    const token = this.#resource.control_token
    if (!token) throw new APIError('this session has no control_token to subscribe with', { id: 'not_subscribable' })
    return await this.#following.start({
      kind: 'session',
      id: this.id,
      token,
      receive: (event, data) => {
        if (event === 'session' && data?.id === this.id) this.#apply(data as SessionResource, true)
      }
    })
  }

  /** Stops following this session; the shared socket closes when nothing else is followed. */
  unsubscribe (): void {
    this.#following.stop()
  }

  /** @internal New data for this session from elsewhere (the embedded viewer). */
  absorb (resource: SessionResource): void {
    this.#apply(resource, true)
  }

  /** The session as plain data (what the API sent). */
  toJSON (): SessionResource {
    return { ...this.#resource }
  }

  #path (): string {
    return `/sessions/${segment(this.id)}`
  }

  /** New data for this session: pushed data always counts as an update, a REST answer only when
   * something differs. `ended` fires on the first transition into `ended`. */
  #apply (resource: SessionResource, pushed: boolean): void {
    const before = JSON.stringify(this.#resource)
    this.#resource = { ...this.#resource, ...resource }
    if (pushed || JSON.stringify(this.#resource) !== before) this.emit('updated', this)
    if (this.#resource.state === 'ended' && !this.#endedSeen) {
      this.#endedSeen = true
      this.emit('ended', this)
    }
  }
}

/** `api.sessions`: list, read and create sessions. */
export class SessionsAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /**
   * Sessions, newest first. `filter_<key>` matches `custom_data.<key>`; `state` takes one state or
   * several; `agent: 'all'` (administrators) lists every agent's sessions; `limit`,
   * `activated_before` and `activated_after` page.
   */
  async list (query: SessionsQuery = {}, options?: RequestOptions): Promise<Session[]> {
    const list = await this.#ctx.client.list<SessionResource>('/sessions', query as Query, options)
    return list.map((resource) => Session.from(this.#ctx, resource))
  }

  /** A session by its id, or by its 6-digit code while it is pending. */
  async get (idOrCode: string, query?: Query, options?: RequestOptions): Promise<Session> {
    const resource = await this.#ctx.client.request<SessionResource>('GET', `/sessions/${segment(idOrCode)}`, {
      query,
      signal: options?.signal
    })
    return Session.from(this.#ctx, resource)
  }

  /** Creates a session, e.g. `{ custom_data, agent: 'me' }`; it starts `pending` with a code. */
  async create (data: NewSession = {}, query?: Query, options?: RequestOptions): Promise<Session> {
    const resource = await this.#ctx.client.request<SessionResource>('POST', '/sessions', {
      query,
      body: data,
      signal: options?.signal
    })
    return Session.from(this.#ctx, resource)
  }
}
