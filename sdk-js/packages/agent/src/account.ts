// The caller's own user, account, policy and region: small read-only resources.
import { Emitter } from './emitter.js'
import { type Context, segment, toDate } from './context.js'
import type { Query, RequestOptions } from '@tandem/core'
import type { AccountPatch, AccountResource, AccountSettings, PolicyResource, RegionResource, UserResource } from './types.js'

/** An agent or administrator of the account. */
export class User extends Emitter<{ updated: [user: User] }> {
  #resource: UserResource

  /** @hidden Made by the SDK, not by applications. */
  constructor (resource: UserResource) {
    super()
    this.#resource = resource
  }

  get id (): string { return this.#resource.id }
  get name (): string | undefined { return this.#resource.name }
  get email (): string | undefined { return this.#resource.email }
  get role (): UserResource['role'] { return this.#resource.role }
  get colour (): string | undefined { return this.#resource.colour }
  get created (): Date | null { return toDate(this.#resource.created) }

  toJSON (): UserResource {
    return { ...this.#resource }
  }
}

export class Account {
  #resource: AccountResource

  /** @hidden Made by the SDK, not by applications. */
  constructor (resource: AccountResource) {
    this.#resource = resource
  }

  get id (): string { return this.#resource.id }
  get name (): string | undefined { return this.#resource.name }
  get license_key (): string { return this.#resource.license_key }
  /** Feature switches; a feature that is missing is enabled. */
  get features (): Record<string, boolean> { return this.#resource.features ?? {} }
  /** Origins (glob patterns) that may embed the viewer. */
  get trusted_origins (): string[] { return this.#resource.trusted_origins ?? [] }
  /** Every setting; present for administrators only. */
  get settings (): AccountSettings | undefined { return this.#resource.settings as AccountSettings | undefined }

  toJSON (): AccountResource {
    return { ...this.#resource }
  }
}

/** What the caller's token may do: its JWT `policy`, or everything when it has none. */
export class Policy {
  #resource: PolicyResource

  /** @hidden Made by the SDK, not by applications. */
  constructor (resource: PolicyResource) {
    this.#resource = resource
  }

  /**
   * Whether the policy allows `permission`, written `<resource>:<action>` (`sessions:write`) or as
   * a bare feature name (`laser`, meaning `features:laser`). A resource the policy does not name
   * falls back to its `*` rule; with neither, it is out of reach. A rule without `permissions`
   * allows every action.
   */
  hasPermission (permission: string): boolean {
    const [resource, action] = permission.includes(':')
      ? permission.split(':', 2) as [string, string]
      : ['features', permission]
    const rule = this.#rule(resource) ?? this.#rule('*')
    if (!rule) return false
    return rule.permissions === undefined || rule.permissions.includes(action) || rule.permissions.includes('*')
  }

  toJSON (): PolicyResource {
    return { ...this.#resource }
  }

  #rule (resource: string): { permissions?: string[] } | undefined {
    const rule = this.#resource[resource]
    return rule !== null && typeof rule === 'object' ? rule : undefined
  }
}

/** A deployment of the socket servers; its id may be passed as a session's `region`. */
export class Region {
  #resource: RegionResource

  /** @hidden Made by the SDK, not by applications. */
  constructor (resource: RegionResource) {
    this.#resource = resource
  }

  get id (): string { return this.#resource.id }
  get type (): string | undefined { return this.#resource.type }

  toJSON (): RegionResource {
    return { ...this.#resource }
  }
}

/** `api.users`. */
export class UsersAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** The user the token belongs to. */
  async current (query?: Query, options?: RequestOptions): Promise<User> {
    return await this.get('me', query, options)
  }

  /** A user of the caller's account by id (`me` for the caller). */
  async get (id: string, query?: Query, options?: RequestOptions): Promise<User> {
    const resource = await this.#ctx.client.request<UserResource>('GET', `/users/${segment(id)}`, { query, signal: options?.signal })
    return new User(resource)
  }
}

/** `api.accounts`. */
export class AccountsAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** The accounts the token reaches (a Tandem token reaches exactly one). */
  async list (query?: Query, options?: RequestOptions): Promise<Account[]> {
    const list = await this.#ctx.client.list<AccountResource>('/accounts', query, options)
    return list.map((resource) => new Account(resource))
  }

  /**
   * Renames the account or changes its settings (administrators). `settings` is partial: the
   * fields given replace theirs, the rest stay; live customers get the change at once. A 400
   * `invalid_settings` `APIError` names a bad field in its message.
   */
  async update (id: string, patch: AccountPatch, options?: RequestOptions): Promise<Account> {
    const resource = await this.#ctx.client.request<AccountResource>('PATCH', `/accounts/${segment(id)}`, { body: patch, signal: options?.signal })
    return new Account(resource)
  }
}

/** `api.policies`. */
export class PoliciesAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** The policy of the current token. */
  async current (query?: Query, options?: RequestOptions): Promise<Policy> {
    const resource = await this.#ctx.client.request<PolicyResource>('GET', '/policy/current', { query, signal: options?.signal })
    return new Policy(resource)
  }
}

/** `api.regions`. */
export class RegionsAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** The region nearest the caller. */
  async closest (query?: Query, options?: RequestOptions): Promise<Region> {
    const resource = await this.#ctx.client.request<RegionResource>('GET', '/regions/closest', { query, signal: options?.signal })
    return new Region(resource)
  }
}
