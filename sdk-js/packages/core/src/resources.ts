// The API's resources as the SDKs read them, made from the types generated out of the server's
// OpenAPI document (openapi.ts), so that a change to the server's resources shows here. Each
// takes the document's fields, all optional but the few an SDK cannot do without (an older or
// newer server may leave one out), and stays open to fields the document does not list yet.
import type { components } from './openapi.js'

type Schemas = components['schemas']

export type SessionState = Schemas['SessionState']

/** Full-device mode and remote control move through these. */
export type Toggle = Schemas['Toggle']

export type EndedReason = Schemas['EndedReason']

/** Your metadata on a session or device (flat on the wire). */
export type CustomData = Record<string, any>

/** An agent as a session shows it. */
export interface Agent extends Pick<Schemas['AgentRef'], 'id' | 'name' | 'colour'> {
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

export interface SessionResource extends Partial<Omit<Schemas['Session'], 'custom_data' | 'device' | 'agent' | 'agents'>> {
  id: string
  state: SessionState
  custom_data: CustomData
  device?: DeviceInfo | null
  agent?: Agent | null
  agents?: Agent[]
  [key: string]: unknown
}

export interface DeviceResource extends Partial<Omit<Schemas['Device'], 'device' | 'custom_data'>> {
  id: string
  device: DeviceInfo
  custom_data: CustomData
  [key: string]: unknown
}

/** A user; the current user (`/users/me`) also carries the socket credential and where to open
 * the socket (`notification_token`, `notification_url`). */
export interface UserResource extends Partial<Omit<Schemas['UserMe'], 'role'>> {
  id: string
  role?: Schemas['Role'] | null
  [key: string]: unknown
}

export interface AccountResource extends Partial<Schemas['Account']> {
  id: string
  license_key: string
  /** Feature switches; a feature that is missing is enabled. */
  features: Record<string, boolean>
  [key: string]: unknown
}

export interface RegionResource extends Partial<Schemas['Region']> {
  id: string
  [key: string]: unknown
}
