// The public keys the account's JWTs are verified with (administrators only): `/api/1/keys`.
import { type Context, segment } from './context.js'
import { APIError, type RequestOptions } from '@tandem/core'
import type { GeneratedKeyResource, KeyResource, KeyUpload } from './types.js'

/** `api.keys`: list, generate, upload and revoke signing keys. */
export class KeysAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  async list (options?: RequestOptions): Promise<KeyResource[]> {
    return await this.#ctx.client.list<KeyResource>('/keys', undefined, options)
  }

  /**
   * Generates an RS256 key pair: the server registers the public half and answers with the
   * private half (PKCS#8 PEM) this once; it is never stored.
   */
  async generate (options?: RequestOptions): Promise<GeneratedKeyResource> {
    return await this.#ctx.client.request<GeneratedKeyResource>('POST', '/keys/generate', { body: {}, signal: options?.signal })
  }

  /** Registers a PEM public key (`{public_key, kid?}`) or every key of a JWKS (`{jwks}`). */
  async upload (key: KeyUpload, options?: RequestOptions): Promise<KeyResource[]> {
    if (!key.public_key && !key.jwks) throw new APIError('upload needs a public_key or a jwks', { id: 'invalid_request' })
    const body: KeyUpload = {}
    for (const field of ['public_key', 'jwks', 'kid'] as const) if (key[field] !== undefined) (body as Record<string, unknown>)[field] = key[field]
    return await this.#ctx.client.request<KeyResource[]>('POST', '/keys', { body, signal: options?.signal })
  }

  /** Revokes a key: JWTs signed with it are refused from now on. */
  async revoke (kid: string, options?: RequestOptions): Promise<void> {
    await this.#ctx.client.request('DELETE', `/keys/${segment(kid)}`, { signal: options?.signal })
  }
}
