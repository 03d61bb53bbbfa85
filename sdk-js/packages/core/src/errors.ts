// The one error class of every Tandem SDK. The server answers every failure with a status and
// `{id, message}`; both reach the caller unchanged. Failures without a response (network,
// timeout, a socket that would not open) carry the SDK's own id and a `null` status.

export interface APIErrorOptions extends ErrorOptions {
  /** The server's error identifier, e.g. `not_found`, `conflict`, `token_expired`. */
  id?: string
  /** The HTTP status, or `null` when no response arrived (network failure, timeout). */
  status?: number | null
}

/** An error from the Tandem API, or from reaching it. */
export class APIError extends Error {
  /** The server's error identifier (`not_found`, `forbidden`, …), or the SDK's own for failures
   * without a response (`network_error`, `timeout`, `invalid_response`). */
  id: string
  /** The HTTP status of the response, or `null` when there was none. */
  status: number | null

  constructor (message?: string, options?: APIErrorOptions)
  /** @deprecated The form of @tandem/web's `ApiError`: `new ApiError(status, id, message)`. */
  constructor (status: number, id: string, message?: string)
  constructor (first?: string | number, second?: APIErrorOptions | string, third?: string) {
    const positional = typeof first === 'number'
    const options: APIErrorOptions = positional
      ? { status: first, id: second as string }
      : (second as APIErrorOptions | undefined) ?? {}
    super(positional ? third : first, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'APIError'
    this.id = options.id ?? 'error'
    this.status = options.status ?? null
  }
}

/**
 * The agent's JWT has expired (401 `token_expired`, message `jwt expired`). The agent SDK also
 * emits it as an `error` event on its `TandemAPI` instance and stops reconnecting sockets until a
 * new token is set.
 */
export class TokenExpiredError extends APIError {
  constructor (message = 'jwt expired', options: APIErrorOptions = {}) {
    super(message, { id: 'token_expired', status: 401, ...options })
    this.name = 'TokenExpiredError'
  }
}

/** Whether a failed response means the bearer JWT has expired. */
export function isExpiry (status: number, id: unknown, message: unknown): boolean {
  return status === 401 && (id === 'token_expired' || message === 'jwt expired')
}
