// The JSON shapes the Tandem API sends and takes (dates are ISO 8601 strings on the wire; the
// resource classes turn them into `Date`s). The resources come from the server's OpenAPI
// document, through @tandem/core; the query and patch shapes are this SDK's own.
import type { CustomData, DeviceInfo, SessionState, Toggle } from '@tandem/core'

export type {
  AccountResource, Agent, CustomData, DeviceInfo, DeviceResource, EndedReason, RegionResource, SessionResource,
  SessionState, Toggle, UserResource
} from '@tandem/core'

/** The current token's policy, keyed by resource (`sessions`, `devices`, `push`, `features`, `*`). */
export interface PolicyResource {
  version?: number
  [resource: string]: { id?: string | string[], custom_data?: CustomData, permissions?: string[] } | number | undefined
}

/** A device's presence, as the socket pushes it. */
export interface Presence {
  id: string
  present: boolean
  last_seen?: string
}

/** What `Session.update()` may change. */
export interface SessionPatch {
  state?: SessionState
  custom_data?: CustomData
  full_device?: Toggle
  remote_control?: Toggle
  /** `'me'` joins the caller to the session. */
  agent?: 'me'
  device?: DeviceInfo
  region?: string
}

/** What `sessions.create()` takes. */
export type NewSession = Omit<SessionPatch, 'state'>

/** The query of `sessions.list()`. */
export interface SessionsQuery {
  /** `filter_<key>=<value>` matches `custom_data.<key>`; several are ANDed. */
  [filter: `filter_${string}`]: string | number | boolean | undefined
  /** One state or several. */
  state?: SessionState | SessionState[] | string | string[]
  /** `all` (administrators) lists every agent's sessions; the default is the caller's own. */
  agent?: 'all' | 'me' | string
  /** At most this many, newest first (the server's default is 50, its maximum 100). */
  limit?: number
  /** Paging: sessions activated (or created, if never active) before this time. */
  activated_before?: Date | string
  activated_after?: Date | string
}

/** The query of `devices.list()`. */
export interface DevicesQuery {
  [filter: `filter_${string}`]: string | number | boolean | undefined
  limit?: number
  /** Devices last seen before / after this time. */
  seen_before?: Date | string
  seen_after?: Date | string
}
