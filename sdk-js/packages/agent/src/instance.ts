// The server and every account on it, for superusers (the server's `superuser_emails`); anyone
// else gets 403 `forbidden`: `/api/1/instance`, `/api/1/admin/accounts`.
import { type Context, segment } from './context.js'
import type { RequestOptions } from '@tandem/core'
import type { AdminAccountResource, InstanceResource } from './types.js'

/** `api.instance.accounts`: every account on the server. */
export class AdminAccountsAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  async list (options?: RequestOptions): Promise<AdminAccountResource[]> {
    return await this.#ctx.client.list<AdminAccountResource>('/admin/accounts', undefined, options)
  }

  /** Creates an account; the calling superuser becomes its administrator. */
  async create (account: { name: string }, options?: RequestOptions): Promise<AdminAccountResource> {
    return await this.#ctx.client.request<AdminAccountResource>('POST', '/admin/accounts', { body: account, signal: options?.signal })
  }

  /** Renames an account, or disables it (its JWTs, sign-ins, devices and sockets are refused) or
   * enables it again. */
  async update (id: string, patch: { name?: string, disabled?: boolean }, options?: RequestOptions): Promise<AdminAccountResource> {
    return await this.#ctx.client.request<AdminAccountResource>('PATCH', `/admin/accounts/${segment(id)}`, { body: patch, signal: options?.signal })
  }
}

/** `api.instance`: the server's version, storage, Redis and region. */
export class InstanceAPI {
  #ctx: Context
  #accounts: AdminAccountsAPI

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
    this.#accounts = new AdminAccountsAPI(ctx)
  }

  get accounts (): AdminAccountsAPI { return this.#accounts }

  async get (options?: RequestOptions): Promise<InstanceResource> {
    return await this.#ctx.client.request<InstanceResource>('GET', '/instance', { signal: options?.signal })
  }
}
