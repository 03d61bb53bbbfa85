// Dashboard sign-in: `/api/1/login/*`. A browser signs in with an emailed link and then holds
// the `tandem_session` cookie; calls it makes with that cookie carry the sign-in's CSRF token
// (`new TandemAPI(undefined, { csrf: () => token })`).
import { type Context, segment } from './context.js'
import type { RequestOptions } from '@tandem/core'
import type { LoginSessionInfo, LoginSessionResource, SsoRedirect, SsoTarget } from './types.js'

/** `api.login`: sign in by email link or single sign-on, the current sign-in, switching account,
 * signing out. */
export class LoginAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /**
   * Emails a sign-in link to `email` (for `account`, when given). The server answers the same
   * whether or not the address is known; a 429 `rate_limited` `APIError` when it has asked too
   * often.
   */
  async email (email: string, account?: string, options?: RequestOptions): Promise<void> {
    const body: { email: string, account?: string } = { email }
    if (account !== undefined) body.account = account
    await this.#ctx.client.request('POST', '/login/email', { body, signal: options?.signal })
  }

  /**
   * Redeems the token of an emailed link (sign-in or invitation): the server sets the cookie
   * and answers with the new sign-in. A wrong, expired or used link is a 401 `invalid_link`.
   */
  async redeem (token: string, options?: RequestOptions): Promise<LoginSessionResource> {
    return await this.#ctx.client.request<LoginSessionResource>('POST', '/login/link', { body: { token }, signal: options?.signal })
  }

  /**
   * Starts a single sign-on: finds the account by `email` (its domain, among the accounts'
   * `email_domains`) or by `account` id, and answers with the URL to send the browser to (it goes
   * on to the IdP). `next` is the dashboard page to land on afterwards. A 404 `sso_not_found`
   * `APIError` when no single sign-on is set up for that address or account.
   */
  async sso (target: SsoTarget, next?: string, options?: RequestOptions): Promise<SsoRedirect> {
    const body: { email?: string, account?: string, next?: string } = 'email' in target ? { email: target.email } : { account: target.account }
    if (next !== undefined) body.next = next
    return await this.#ctx.client.request<SsoRedirect>('POST', '/login/sso', { body, signal: options?.signal })
  }

  /** The current sign-in; a 401 `not_signed_in` `APIError` without one. */
  async session (options?: RequestOptions): Promise<LoginSessionResource> {
    return await this.#ctx.client.request<LoginSessionResource>('GET', '/login/session', { signal: options?.signal })
  }

  /**
   * Selects another of the email's accounts (superusers: any account). The shared socket is
   * closed, since its credential belonged to the previous account; subscriptions must be made
   * again.
   */
  async switchAccount (account: string, options?: RequestOptions): Promise<LoginSessionResource> {
    const session = await this.#ctx.client.request<LoginSessionResource>('PUT', '/login/session', { body: { account }, signal: options?.signal })
    this.#ctx.realtime.disconnect()
    return session
  }

  /** Signs out: the cookie is cleared and the shared socket closed. */
  async signOut (options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', '/login/session', { signal: options?.signal })
    this.#ctx.realtime.disconnect()
  }

  /** The caller's own dashboard sign-ins (one per browser). */
  async sessions (options?: RequestOptions): Promise<LoginSessionInfo[]> {
    return await this.#ctx.client.list<LoginSessionInfo>('/login/sessions', undefined, options)
  }

  /** Ends one of the caller's own sign-ins. */
  async revoke (id: string, options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', `/login/sessions/${segment(id)}`, { signal: options?.signal })
  }
}
