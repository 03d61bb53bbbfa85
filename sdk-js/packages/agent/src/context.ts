// What every resource needs from the TandemAPI that made it: the request core and the socket.
import type { Client } from '@tandem/core'
import type { Realtime } from './realtime.js'

export interface Context {
  readonly client: Client
  readonly realtime: Realtime
}

/** A wire timestamp as a `Date`; `null` when absent. */
export function toDate (value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? null : date
}

/** A path segment: ids and codes are sent as given, escaped. */
export function segment (value: string): string {
  return encodeURIComponent(value)
}
