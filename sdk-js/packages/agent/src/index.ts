// @tandem/agent: the public surface. `TandemAPI` is also the default export and is exported as
// `CobrowseAPI`, so code written for cobrowse-agent-sdk switches by changing the import.
import { TandemAPI } from './api.js'

export default TandemAPI
export { TandemAPI, TandemAPI as CobrowseAPI }
export type { TandemAPIEvents, TandemAPIOptions } from './api.js'
export { APIError, TokenExpiredError } from '@tandem/core'
export type { APIErrorOptions } from '@tandem/core'
export { Session, SessionsAPI } from './sessions.js'
export type { SessionEvents } from './sessions.js'
export { Device, DevicesAPI } from './devices.js'
export type { DeviceEvents } from './devices.js'
export { Account, AccountsAPI, Policy, PoliciesAPI, Region, RegionsAPI, User, UsersAPI } from './account.js'
export { LoginAPI } from './login.js'
export { InvitationsAPI, MembersAPI } from './team.js'
export { KeysAPI } from './keys.js'
export { SsoAPI } from './sso.js'
export { AdminAccountsAPI, InstanceAPI } from './instance.js'
export { Emitter } from './emitter.js'
export type { EventMap, Listener } from './emitter.js'
export type { Query, QueryValue, RequestOptions } from '@tandem/core'
export type * from './types.js'
export { VERSION } from './version.js'
export { RemoteContext, parseStartMessage } from './remote.js'
export type { ContextTarget, NavigationOutcome, Navigation, PostMessageTarget, RemoteContextEvents, SessionMetrics, Tool } from './remote.js'
