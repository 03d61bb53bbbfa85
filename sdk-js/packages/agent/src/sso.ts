// An account's SAML single sign-on (administrators only; agents get 403 `forbidden`):
// `/api/1/sso`. Signing in through it is `login.sso()`.
import type { Context } from './context.js'
import type { RequestOptions } from '@tandem/core'
import type { SsoResource, SsoUpdate } from './types.js'

/** `api.sso`: read, set up or change, and remove the account's single sign-on. */
export class SsoAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** The SP values to register at the IdP, and the IdP settings (`config: null` before setup). */
  async get (options?: RequestOptions): Promise<SsoResource> {
    return await this.#ctx.client.request<SsoResource>('GET', '/sso', { signal: options?.signal })
  }

  /**
   * Sets up or replaces the settings (the whole of them). A 400 `invalid_sso` `APIError` names
   * the field in its message; a 409 `domain_taken` when another account claims a domain.
   */
  async update (config: SsoUpdate, options?: RequestOptions): Promise<SsoResource> {
    return await this.#ctx.client.request<SsoResource>('PUT', '/sso', { body: config, signal: options?.signal })
  }

  /** Removes single sign-on: members sign in by emailed link again. */
  async remove (options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', '/sso', { signal: options?.signal })
  }
}
