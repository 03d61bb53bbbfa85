// The account's people (administrators only; agents get 403 `forbidden`): `/api/1/members` and
// `/api/1/invitations`.
import { type Context, segment } from './context.js'
import type { RequestOptions } from '@tandem/core'
import type { InvitationResource, MemberResource, Role } from './types.js'

/** `api.members`: who belongs to the account, their roles and sign-ins. */
export class MembersAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** Every member, including agents that exist because an integrator's JWT named them. */
  async list (options?: RequestOptions): Promise<MemberResource[]> {
    return await this.#ctx.client.list<MemberResource>('/members', undefined, options)
  }

  /** Changes a member's role; a 409 `last_administrator` when none would be left. */
  async setRole (id: string, role: Role, options?: RequestOptions): Promise<MemberResource> {
    return await this.#ctx.client.request<MemberResource>('PUT', `/members/${segment(id)}`, { body: { role }, signal: options?.signal })
  }

  /** Removes a member: their sign-ins and sockets end at once. */
  async remove (id: string, options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', `/members/${segment(id)}`, { signal: options?.signal })
  }

  /** Ends every dashboard sign-in of a member; resolves with how many ended. */
  async revokeSessions (id: string, options?: RequestOptions): Promise<number> {
    const reply = await this.#ctx.client.request<{ revoked?: number }>('DELETE', `/members/${segment(id)}/sessions`, { signal: options?.signal })
    return reply?.revoked ?? 0
  }
}

/** `api.invitations`: emailed links that make their recipient a member. */
export class InvitationsAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** Invitations not yet accepted. */
  async list (options?: RequestOptions): Promise<InvitationResource[]> {
    return await this.#ctx.client.list<InvitationResource>('/invitations', undefined, options)
  }

  /** Invites `email` with `role`: the server emails a link. */
  async create (invitation: { email: string, role: Role }, options?: RequestOptions): Promise<InvitationResource> {
    return await this.#ctx.client.request<InvitationResource>('POST', '/invitations', { body: invitation, signal: options?.signal })
  }

  /** Withdraws an invitation; its link stops working. */
  async remove (id: string, options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', `/invitations/${segment(id)}`, { signal: options?.signal })
  }
}
