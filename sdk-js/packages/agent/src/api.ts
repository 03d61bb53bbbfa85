// The entry point: one TandemAPI per agent token and server.
import { AccountsAPI, PoliciesAPI, RegionsAPI, UsersAPI } from './account.js'
import type { Context } from './context.js'
import { DevicesAPI } from './devices.js'
import { Emitter } from './emitter.js'
import { APIError, Client, type RequestCoreOptions } from '@tandem/core'
import { InstanceAPI } from './instance.js'
import { KeysAPI } from './keys.js'
import { LoginAPI } from './login.js'
import { Realtime, socketUrl } from './realtime.js'
import { type Attachment, type ContextTarget, RemoteContext } from './remote.js'
import { Session, SessionsAPI } from './sessions.js'
import { SsoAPI } from './sso.js'
import { InvitationsAPI, MembersAPI } from './team.js'
import type { SessionResource, UserResource } from './types.js'
import { VERSION } from './version.js'

export interface TandemAPIOptions extends RequestCoreOptions {
  /** The account's license key, sent as `X-CobrowseLicense` when set. */
  license?: string
  /** Replaces the global `WebSocket` (tests, or runtimes without one). */
  WebSocket?: typeof WebSocket
  /**
   * Cookie mode, for pages served by the Tandem server itself (the dashboard): without a token,
   * calls carry the browser's `tandem_session` cookie (fetch sends it to the same origin), and
   * this function's value, when it returns one, as `X-Tandem-CSRF` on every call. The value is
   * the sign-in's `csrf_token` (`login.session()`, `login.redeem()`).
   */
  csrf?: () => string | null | undefined
}

/** The REST API version this SDK speaks, sent as `X-CobrowseAPIVersion`. */
const API_VERSION = '1.2.0'

export type TandemAPIEvents = {
  /** The token expired (a `TokenExpiredError`; the socket then stays closed until a new token is
   * set), or the shared socket failed where no call was waiting to hear it (reading its
   * credentials on a reconnect, a refused re-subscription). */
  error: [error: APIError]
}

/**
 * The Tandem agent SDK, for helpdesks and CRMs: sessions, devices and live updates. The same
 * surface as cobrowse-agent-sdk's `CobrowseAPI` (also exported under that name).
 *
 * ```js
 * const tandem = new TandemAPI(jwt, { api: 'https://tandem.example.com' })
 * const sessions = await tandem.sessions.list({ filter_user_id: 'u-1', state: 'active' })
 * ```
 */
export class TandemAPI extends Emitter<TandemAPIEvents> {
  #client: Client
  #realtime: Realtime
  #sessions: SessionsAPI
  #devices: DevicesAPI
  #users: UsersAPI
  #accounts: AccountsAPI
  #policies: PoliciesAPI
  #regions: RegionsAPI
  #ctx: Context
  #token: string | undefined
  #license: string | undefined
  #csrf: (() => string | null | undefined) | undefined
  #login: LoginAPI
  #members: MembersAPI
  #invitations: InvitationsAPI
  #keys: KeysAPI
  #sso: SsoAPI
  #instance: InstanceAPI

  /**
   * @param token - The agent's JWT (RS256, signed with a key of the account); `undefined` in
   * cookie mode.
   * @param options - `api`: the Tandem server's URL; `license`, `timeout`, `retries`, `csrf`
   * (cookie mode), and `fetch` / `WebSocket` to replace the globals.
   */
  constructor (token?: string, options: TandemAPIOptions = {}) {
    super()
    this.#token = token
    this.#license = options.license
    this.#csrf = options.csrf
    const client = new Client({
      ...options,
      headers: () => this.#headers(),
      onExpired: (error) => {
        realtime.expired(error)
        this.emit('error', error)
      }
    })
    const realtime = new Realtime({
      credentials: async () => {
        const me = await client.request<UserResource>('GET', '/users/me')
        if (typeof me?.notification_token !== 'string' || me.notification_token === '') {
          throw new APIError('/users/me has no notification_token to open a socket with', { id: 'invalid_response', status: 200 })
        }
        return { url: socketUrl(client.api, me.notification_url), token: me.notification_token }
      },
      WebSocket: () => options.WebSocket ?? (globalThis as { WebSocket?: typeof WebSocket }).WebSocket,
      onError: (error) => this.emit('error', error)
    })
    const ctx: Context = { client, realtime }
    this.#ctx = ctx
    this.#client = client
    this.#realtime = realtime
    this.#sessions = new SessionsAPI(ctx)
    this.#devices = new DevicesAPI(ctx)
    this.#users = new UsersAPI(ctx)
    this.#accounts = new AccountsAPI(ctx)
    this.#policies = new PoliciesAPI(ctx)
    this.#regions = new RegionsAPI(ctx)
    this.#login = new LoginAPI(ctx)
    this.#members = new MembersAPI(ctx)
    this.#invitations = new InvitationsAPI(ctx)
    this.#keys = new KeysAPI(ctx)
    this.#sso = new SsoAPI(ctx)
    this.#instance = new InstanceAPI(ctx)
  }

  /** The agent's JWT. Setting a new one also resumes sockets stopped by an expired token. */
  get token (): string | undefined { return this.#token }
  set token (token: string | undefined) {
    this.#token = token
    this.#realtime.tokenChanged()
  }

  /** The account's license key, sent as `X-CobrowseLicense` when set. */
  get license (): string | undefined { return this.#license }
  set license (license: string | undefined) { this.#license = license }

  /** The server's base URL, without trailing slashes. */
  get api (): string { return this.#client.api }

  get sessions (): SessionsAPI { return this.#sessions }
  get devices (): DevicesAPI { return this.#devices }
  get users (): UsersAPI { return this.#users }
  get accounts (): AccountsAPI { return this.#accounts }
  get policies (): PoliciesAPI { return this.#policies }
  get regions (): RegionsAPI { return this.#regions }
  /** Dashboard sign-in by email link or single sign-on, the current sign-in, account switching, sign-out. */
  get login (): LoginAPI { return this.#login }
  /** The account's members (administrators). */
  get members (): MembersAPI { return this.#members }
  /** Invitations to join the account (administrators). */
  get invitations (): InvitationsAPI { return this.#invitations }
  /** The keys the account's JWTs are signed with (administrators). */
  get keys (): KeysAPI { return this.#keys }
  /** The account's SAML single sign-on (administrators). */
  get sso (): SsoAPI { return this.#sso }
  /** The server and all its accounts (superusers). */
  get instance (): InstanceAPI { return this.#instance }

  /**
   * Drives a Tandem viewer embedded in `target` (an iframe showing `/session/:id`, `/code`,
   * `/code`… of this API, best with `token_source=postMessage`): the context hands the viewer
   * this instance's token, switches its tools and hears its session. In cookie mode (a page of
   * the Tandem server itself) no token is handed over: the viewer signs in with the same cookie.
   * Browsers only.
   */
  async attachContext (target: ContextTarget): Promise<RemoteContext> {
    if (typeof window === 'undefined') throw new Error('attachContext needs a browser')
    const attachment: Attachment = {
      origin: new URL(this.api).origin,
      token: () => this.token,
      session: (resource: SessionResource) => Session.from(this.#ctx, resource)
    }
    return new RemoteContext(target, attachment)
  }

  /** Closes the shared socket and drops every subscription. */
  disconnect (): void {
    this.#realtime.disconnect()
  }

  /** The headers of every REST call. */
  #headers (): Record<string, string> {
    const headers: Record<string, string> = {
      'X-CobrowsePlatform': 'agent-sdk',
      'X-CobrowseSDKVersion': VERSION,
      'X-CobrowseAPIVersion': API_VERSION
    }
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`
    if (this.#license) headers['X-CobrowseLicense'] = this.#license
    const csrf = this.#csrf?.()
    if (csrf) headers['X-Tandem-CSRF'] = csrf
    return headers
  }
}
