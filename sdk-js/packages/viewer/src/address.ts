// What the viewer page's address says: shared by viewer.ts and boot.ts, which starts the
// session page's first calls before viewer.ts runs (prefetch.ts).

export interface Address {
  params: URLSearchParams
  /** The agent's JWT from `?token=` (empty when none). */
  token: string
  /** `token_source=postMessage`: the embedding page hands the token over (bridge.ts). */
  tokenFromParent: boolean
  /** Neither a token nor one to come: the dashboard's login cookie is the credential. */
  cookieMode: boolean
  /** The 9-digit token of `/agent#sid=…` (and Genesys's `/cobrowse/slave.html#sid=…`). */
  sid: string
  /** The session named by the path (`/session/<id>`) or by `sid`. */
  sessionId: string
  /** The path without its trailing slash. */
  route: string
  /** Whether this is a session's live page (not its history, the code form, Glance's…). */
  sessionPage: boolean
}

export function address (location: Location): Address {
  const params = new URLSearchParams(location.search)
  const token = params.get('token') ?? ''
  const tokenFromParent = params.get('token_source') === 'postMessage'
  const sid = new URLSearchParams(location.hash.slice(1)).get('sid') ?? ''
  const route = location.pathname.replace(/\/$/, '')
  const sessionPage = (route === '/agent' || route === '/cobrowse/slave.html')
    ? /^\d{9}$/.test(sid)
    : /^\/session\/[^/]+$/.test(route)
  return {
    params,
    token,
    tokenFromParent,
    cookieMode: !token && !tokenFromParent,
    sid,
    sessionId: sid || decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? ''),
    route,
    sessionPage
  }
}
