// Routing on the History API under /dashboard: a pure route table (tested) and the hooks that
// follow the address bar.
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/dashboard'

export type RouteName = 'login' | 'accounts' | 'sessions' | 'session' | 'viewer' | 'devices' | 'code' | 'members' |
  'settings' | 'sso' | 'keys' | 'profile' | 'admin' | 'not_found'

export interface Route {
  name: RouteName
  params: Record<string, string>
}

const TABLE: Array<[RegExp, RouteName, string[]]> = [
  [/^\/?$/, 'sessions', []],
  [/^\/login$/, 'login', []],
  [/^\/accounts$/, 'accounts', []],
  [/^\/sessions$/, 'sessions', []],
  [/^\/sessions\/([^/]+)$/, 'session', ['id']],
  [/^\/sessions\/([^/]+)\/view$/, 'viewer', ['id']],
  [/^\/devices$/, 'devices', []],
  [/^\/code$/, 'code', []],
  [/^\/members$/, 'members', []],
  [/^\/settings$/, 'settings', []],
  [/^\/settings\/sso$/, 'sso', []],
  [/^\/keys$/, 'keys', []],
  [/^\/profile$/, 'profile', []],
  [/^\/admin$/, 'admin', []]
]

/** The route of a pathname (`/dashboard/sessions/abc` → `session` with `id: abc`). */
export function match (pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname
  const path = rest.replace(/\/+$/, '') || '/'
  for (const [re, name, keys] of TABLE) {
    const m = re.exec(path)
    if (m) return { name, params: Object.fromEntries(keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) }
  }
  return { name: 'not_found', params: {} }
}

/** `/dashboard` + path. */
export function href (path: string): string {
  return `${BASE}${path.startsWith('/') ? path : `/${path}`}`
}

const EVENT = 'tandem:navigate'

/** Goes to `path` (under /dashboard) without reloading. */
export function navigate (path: string, { replace = false } = {}): void {
  const url = href(path)
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  dispatchEvent(new Event(EVENT))
}

/** The current location, re-rendering on every navigation. */
export function useLocation (): { pathname: string, search: URLSearchParams } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const on = (): void => setTick((t) => t + 1)
    addEventListener('popstate', on)
    addEventListener(EVENT, on)
    return () => {
      removeEventListener('popstate', on)
      removeEventListener(EVENT, on)
    }
  }, [])
  return { pathname: location.pathname, search: new URLSearchParams(location.search) }
}

/** Replaces the query string of the current address (filters), without a history entry. */
export function setQuery (query: Record<string, string | undefined>): void {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v)
  const search = params.toString()
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`)
}
