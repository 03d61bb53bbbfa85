// The JSON shapes the Tandem API sends and takes (dates are ISO 8601 strings on the wire; the
// resource classes turn them into `Date`s). The resources come from the server's OpenAPI
// document, through @tandem/core; the query and patch shapes are this SDK's own.
import type { Agent, CustomData, components, DeviceInfo, SessionState, Toggle, UserResource } from '@tandem/core'

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

/** A member's role in an account. */
export type Role = 'administrator' | 'agent'

/** An account as a login session lists it. */
export interface LoginAccount {
  id: string
  name: string
  /** The signed-in email's role there. */
  role: Role
  /** Whether a superuser has disabled the account (nobody can use it then). */
  disabled?: boolean
}

/** A dashboard sign-in (`GET /login/session`): who is signed in and the selected account. */
export interface LoginSessionResource {
  email: string
  /** Sent back as `X-Tandem-CSRF` on every cookie-authenticated call that changes anything. */
  csrf_token: string
  /** Whether the email is one of the server's `superuser_emails`. */
  superuser: boolean
  /** The selected account, or `null` before one is picked. */
  account: LoginAccount | null
  /** Every account this email is a member of. */
  accounts: LoginAccount[]
  /** The member record in the selected account. */
  user: UserResource | null
  created: string
  expires: string
  [key: string]: unknown
}

/** One of the caller's own dashboard sign-ins (a browser holding the cookie). */
export interface LoginSessionInfo {
  id: string
  created: string
  last_seen: string
  expires: string
  user_agent: string | null
  /** Whether it is the sign-in making this call. */
  current: boolean
  email?: string
  [key: string]: unknown
}

/** A member of the account: a user plus how many live dashboard sign-ins it holds. */
export interface MemberResource {
  id: string
  email: string
  name: string
  role: Role
  colour?: string
  created?: string
  /** Live dashboard sign-ins. */
  login_sessions: number
  [key: string]: unknown
}

/** A pending invitation to join the account. */
export interface InvitationResource {
  id: string
  email: string
  role: Role
  created: string
  expires: string
  /** Who invited (an email or user id, as the server reports it). */
  invited_by?: string | null
  [key: string]: unknown
}

/** A public key JWTs of the account may be signed with. */
export interface KeyResource {
  kid: string
  algorithm: string
  created: string
  /** When a JWT signed with it was last accepted; `null` if never. */
  last_used: string | null
  [key: string]: unknown
}

/** A key pair made by the server: the private half is in this reply only, never stored. */
export interface GeneratedKeyResource extends KeyResource {
  /** PKCS#8 PEM. Shown once. */
  private_key: string
}

/** What `keys.upload()` takes: a PEM public key (with an optional `kid`) or a JWKS. */
export interface KeyUpload {
  public_key?: string
  jwks?: { keys: unknown[] } | Record<string, unknown>
  kid?: string
}

/** An account's settings, as administrators read and change them. */
export interface AccountSettings {
  require_consent: boolean
  code_expiry_secs: number
  features: Record<string, boolean>
  redaction_selectors: string[]
  unredaction_selectors: string[]
  trusted_origins: string[]
  asset_origins: string[]
  remote_control_consent: boolean
  agent_submit: boolean
  navigation_origins: string[]
  /** The custom data key that holds a customer's visitor id (empty: none). */
  visitor_id_key: string
  [key: string]: unknown
}

/** What `accounts.update()` takes; `settings` is merged into the current settings. */
export interface AccountPatch {
  name?: string
  settings?: Partial<AccountSettings>
}

/** The server itself, for superusers. */
export interface InstanceResource {
  version: string
  backend: 'sqlite' | 'postgres' | string
  redis: 'connected' | 'unavailable' | 'not_configured' | string
  region: string
  /** `all`, `api` or `realtime`. */
  role: string
  /** The URL the server is reached at (and its emailed links point to). */
  public_url?: string
  [key: string]: unknown
}

/** An account as superusers see it. */
export interface AdminAccountResource {
  id: string
  name: string
  license_key: string
  disabled: boolean
  created: string
  /** How many members it has. */
  members: number
  [key: string]: unknown
}

/** A page the customer loaded during a session. */
export interface PageVisit {
  url: string
  title: string
  entered: string
  /** How long the page stayed in view (until the next page, the end, or now). */
  duration_secs: number
}

/** An agent's time in a session. */
export interface AgentVisit {
  agent: Agent | null
  joined: string
  /** `null` while the agent is still there. */
  left: string | null
}

/** What happened during a session (`GET /sessions/{id}/history`). */
export interface SessionHistoryResource {
  session: string
  pages: PageVisit[]
  agents: AgentVisit[]
}

type Schemas = components['schemas']
type SpSchema = Schemas['Sp']
type GroupRoleSchema = Schemas['GroupRole']
type CertificateSchema = Schemas['CertificateInfo']
type RedirectSchema = Schemas['SsoRedirect']

/** Tandem as a SAML service provider: the values to register at the identity provider. */
export interface SsoServiceProvider extends SpSchema {
  /** The SP entity id (the Audience of the IdP's assertions; its metadata is there too). */
  entity_id: string
  /** Assertion Consumer Service: where the IdP posts its response (HTTP-POST binding). */
  acs_url: string
  /** The SP metadata XML, to import at the IdP. */
  metadata_url: string
  /** Where a browser starts an SP-initiated sign-in. */
  login_url: string
  [key: string]: unknown
}

/** A group the IdP sends (in `groups_attribute`) and the role its members get. */
export interface SsoGroupRole extends GroupRoleSchema {
  group: string
  role: Role
}

/** Single sign-on's settings besides the identity provider itself. */
export interface SsoSettings {
  /** The attribute holding the email; `''` when the NameID is the email. */
  email_attribute: string
  /** The attribute holding the display name; `''` for none. */
  name_attribute: string
  /** The attribute holding the groups; `''` for none. */
  groups_attribute: string
  /** Groups that give a role; the strongest role among a user's matching groups wins. */
  group_roles: SsoGroupRole[]
  /** Just-in-time creation: an unknown email signed in by the IdP becomes a member. */
  jit: boolean
  /** The role of members created just in time when no group gives one. */
  default_role: Role
  /** Members of the account may sign in only through the IdP (emailed links are refused). */
  require_sso: boolean
  /** Whether unsolicited (IdP-initiated) responses are accepted. */
  idp_initiated: boolean
  /** Email domains whose addresses the sign-in page sends to this IdP. */
  email_domains: string[]
}

/** An account's SAML single sign-on, as `sso.get()` reads it (the server sends every field). */
export interface SsoConfig extends SsoSettings, Required<Schemas['SsoConfig']> {
  /** The IdP's entity id: every response's Issuer must equal it. */
  idp_entity_id: string
  /** The IdP's SingleSignOnService URL (HTTP-Redirect binding). */
  idp_sso_url: string
  /** PEM certificates the IdP signs with: one, or two during a rollover. */
  idp_certificates: string[]
  [key: string]: unknown
}

/** A configured IdP certificate, as the server reads it. */
export interface SsoCertificate extends CertificateSchema {
  /** Its subject, `CN=…`. */
  subject: string
  /** When it stops being valid (RFC 3339). */
  not_after: string
  /** SHA-256 fingerprint, colon-separated hex. */
  sha256: string
  [key: string]: unknown
}

/** `GET /sso`: the SP values always, and the IdP settings once single sign-on is set up. */
export interface SsoResource extends Omit<Schemas['SsoView'], 'sp' | 'config' | 'certificates'> {
  configured: boolean
  sp: SsoServiceProvider
  /** `null` until single sign-on is set up. */
  config: SsoConfig | null
  /** What the configured certificates are (subject, expiry, fingerprint). */
  certificates: SsoCertificate[]
  [key: string]: unknown
}

/**
 * What `sso.update()` takes: the whole configuration (it replaces the one there; a setting left
 * out takes its default: empty, off, `agent`). The IdP is given by its metadata
 * (`metadata_xml`) or by `idp_entity_id`, `idp_sso_url` and one or two `idp_certificates`;
 * fields given explicitly win over the metadata's. The server refuses fields it does not know.
 */
export type SsoUpdate = Partial<SsoSettings> & Pick<Schemas['SsoInput'], 'metadata_xml' | 'idp_entity_id' | 'idp_sso_url' | 'idp_certificates'>

/** Whom `login.sso()` signs in: an address (matched by its domain) or an account id. */
export type SsoTarget = { email: string } | { account: string }

/** Where the browser goes next to sign in with the IdP (`window.location.assign(url)`). */
export interface SsoRedirect extends RedirectSchema {
  url: string
  [key: string]: unknown
}
