// The JSON shapes the Tandem API sends (dates are ISO 8601 strings on the wire; the resource
// classes turn them into `Date`s).

export type SessionState = 'pending' | 'authorizing' | 'active' | 'ended'

/** Full-device mode and remote control move through these. */
export type Toggle = 'off' | 'requested' | 'rejected' | 'on'

export type EndedReason =
  | 'device_ended'
  | 'agent_ended'
  | 'pending_timeout'
  | 'authorizing_timeout'
  | 'active_timeout'
  | 'limit_enforcement'

/** An agent as a session shows it. */
export interface Agent {
  id: string
  name: string
  /** The agent's colour, e.g. `#1f77b4`. */
  colour: string
  email?: string
  picture?: string
}

/** What the device SDK reports about the customer's device. */
export interface DeviceInfo {
  app_id?: string
  app_name?: string
  device?: string
  device_locale?: string
  device_timezone?: string
  os_version?: string
  platform?: 'web' | 'ios' | 'android' | 'windows' | 'macos'
  sdk_version?: string
  full_device_control?: boolean
  [key: string]: unknown
}

export type CustomData = Record<string, any>

export interface SessionResource {
  id: string
  /** The 6-digit code, while the session is pending. */
  code?: string | null
  state: SessionState
  custom_data: CustomData
  device?: DeviceInfo | null
  agent?: Agent | null
  agents?: Agent[]
  full_device?: Toggle
  remote_control?: Toggle
  ended_reason?: EndedReason | null
  region?: string | null
  recorded?: boolean
  colours?: string[]
  /** Subscribes a socket to this session's updates. */
  control_token?: string
  created?: string
  updated?: string
  activated?: string | null
  ended?: string | null
  expires?: string | null
  [key: string]: unknown
}

export interface DeviceResource {
  id: string
  device: DeviceInfo
  custom_data: CustomData
  connectable?: boolean
  online?: boolean
  /** Subscribes a socket to this device's updates and presence. */
  notification_token?: string
  last_active?: string
  created?: string
  updated?: string
  [key: string]: unknown
}

export interface UserResource {
  id: string
  email?: string
  name?: string
  role?: 'administrator' | 'agent' | null
  colour?: string
  created?: string
  /** Only on the current user: the socket credential and where to open the socket. */
  notification_token?: string
  notification_url?: string
  [key: string]: unknown
}

export interface AccountResource {
  id: string
  name?: string
  license_key: string
  /** Feature switches; a feature that is missing is enabled. */
  features: Record<string, boolean>
  [key: string]: unknown
}

/** The current token's policy, keyed by resource (`sessions`, `devices`, `push`, `features`, `*`). */
export interface PolicyResource {
  version?: number
  [resource: string]: { id?: string | string[], custom_data?: CustomData, permissions?: string[] } | number | undefined
}

export interface RegionResource {
  id: string
  type?: string
  [key: string]: unknown
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
export interface NewSession extends Omit<SessionPatch, 'state'> {}

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
