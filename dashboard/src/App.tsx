// The shell: reads the sign-in, sends the signed-out to /login and those without an account to
// the picker, and lays out the navigation around the current page.
import type { LoginSessionResource } from '@tandem/agent'
import type { ComponentChildren, JSX } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { remember, tandem } from './api.ts'
import { describeError, isSignedOut } from './lib/errors.ts'
import { href, match, navigate, type RouteName, useLocation } from './router.ts'
import { isAdmin, MeContext, type Me } from './session.ts'
import { ErrorState, Loading, Toasts } from './ui/index.ts'
import { AccountPicker, AccountSwitcher } from './pages/Accounts.tsx'
import { Admin } from './pages/Admin.tsx'
import { CodeEntry } from './pages/Code.tsx'
import { Devices } from './pages/Devices.tsx'
import { Keys } from './pages/Keys.tsx'
import { Login } from './pages/Login.tsx'
import { Members } from './pages/Members.tsx'
import { Profile } from './pages/Profile.tsx'
import { SessionDetail } from './pages/SessionDetail.tsx'
import { Sessions } from './pages/Sessions.tsx'
import { Settings } from './pages/Settings.tsx'
import { Sso } from './pages/Sso.tsx'
import { Viewer } from './pages/Viewer.tsx'

interface NavItem { route: RouteName, path: string, label: string, admin?: boolean, superuser?: boolean }

const NAV: NavItem[] = [
  { route: 'sessions', path: '/sessions', label: 'Sessions' },
  { route: 'devices', path: '/devices', label: 'Devices' },
  { route: 'code', path: '/code', label: 'Enter a code' },
  { route: 'members', path: '/members', label: 'Members', admin: true },
  { route: 'settings', path: '/settings', label: 'Settings', admin: true },
  { route: 'sso', path: '/settings/sso', label: 'Single sign-on', admin: true },
  { route: 'keys', path: '/keys', label: 'Keys', admin: true },
  { route: 'profile', path: '/profile', label: 'Profile' },
  { route: 'admin', path: '/admin', label: 'Admin', superuser: true }
]

const TITLES: Partial<Record<RouteName, string>> = {
  sessions: 'Sessions', session: 'Session', viewer: 'Viewer', devices: 'Devices', code: 'Enter a code',
  members: 'Members', settings: 'Settings', sso: 'Single sign-on', keys: 'Keys', profile: 'Profile', admin: 'Admin', accounts: 'Pick an account'
}

/** Where a page link goes, handled here rather than by a full page load. */
function onLinkClick (e: MouseEvent): void {
  const a = (e.target as HTMLElement).closest('a')
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return
  const url = new URL(a.href, location.href)
  if (url.origin !== location.origin || !url.pathname.startsWith('/dashboard') || a.hasAttribute('download')) return
  e.preventDefault()
  navigate(url.pathname.slice('/dashboard'.length) + url.search)
}

export function App (): JSX.Element {
  const { pathname } = useLocation()
  const route = match(pathname)
  const [login, setLoginState] = useState<LoginSessionResource | null | undefined>(undefined)
  const [failure, setFailure] = useState<unknown>(null)

  const setLogin = useCallback((l: LoginSessionResource | null) => {
    remember(l)
    setLoginState(l)
  }, [])
  const refresh = useCallback(async () => {
    try {
      setLogin(await tandem.login.session())
      setFailure(null)
    } catch (e) {
      if (isSignedOut(e)) setLogin(null)
      else setFailure(e)
    }
  }, [setLogin])

  useEffect(() => {
    addEventListener('click', onLinkClick)
    return () => removeEventListener('click', onLinkClick)
  }, [])
  // The sign-in is read once; the login page redeems links itself.
  useEffect(() => { if (route.name !== 'login') void refresh() }, [])

  // Focus follows navigation: the new page's heading, so keyboard and screen-reader users start there.
  const first = useRef(true)
  useEffect(() => {
    document.title = `${TITLES[route.name] ?? 'Tandem'} · Tandem`
    if (first.current) { first.current = false; return }
    requestAnimationFrame(() => (document.querySelector('main h1') as HTMLElement | null)?.focus())
  }, [pathname])

  if (route.name === 'login') {
    return <><Login onSignedIn={setLogin} /><Toasts /></>
  }
  if (failure) return <main class='center'><ErrorState text={describeError(failure)} retry={() => { void refresh() }} /></main>
  if (login === undefined) return <main class='center'><Loading text='Signing in…' /></main>
  if (login === null) {
    const next = location.pathname + location.search
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true })
    return <main class='center'><Loading text='Signing in…' /></main>
  }
  const me: Me = { login, refresh, setLogin }
  // Superusers reach Admin without picking an account (they may belong to none).
  if (route.name === 'accounts' || (!login.account && !(login.superuser && (route.name === 'admin' || route.name === 'profile')))) {
    return <MeContext.Provider value={me}><main class='center'><AccountPicker /></main><Toasts /></MeContext.Provider>
  }
  return (
    <MeContext.Provider value={me}>
      <Shell route={route.name} login={login}>
        <Page name={route.name} params={route.params} login={login} />
      </Shell>
      <Toasts />
    </MeContext.Provider>
  )
}

function Shell ({ route, login, children }: { route: RouteName, login: LoginSessionResource, children: ComponentChildren }): JSX.Element {
  const [menu, setMenu] = useState(false)
  const admin = isAdmin(login)
  // Without an account (a superuser who belongs to none) only Admin and Profile work.
  const items = NAV.filter((i) => (!i.admin || admin) && (!i.superuser || login.superuser) &&
    (login.account || i.route === 'admin' || i.route === 'profile'))
  const active = (i: NavItem): boolean => i.route === route || (i.route === 'sessions' && (route === 'session' || route === 'viewer'))
  useEffect(() => setMenu(false), [route])
  return (
    <div class='shell'>
      <a class='skip' href='#main'>Skip to content</a>
      <header class='topbar'>
        <a class='brand' href={href('/sessions')}>Tandem</a>
        <AccountSwitcher />
        <button type='button' class='t-button t-button--small menu-button' aria-expanded={menu} aria-controls='nav'
          onClick={() => setMenu(!menu)}>Menu</button>
      </header>
      <nav id='nav' class={`nav${menu ? ' nav--open' : ''}`} aria-label='Main'>
        <ul>
          {items.map((i) => (
            <li key={i.route}><a href={href(i.path)} aria-current={active(i) ? 'page' : undefined}>{i.label}</a></li>
          ))}
        </ul>
        <p class='nav__who t-muted'>{login.email}<br />{[login.account?.role, login.superuser && 'superuser'].filter(Boolean).join(' · ')}</p>
      </nav>
      <main id='main' class='content'>{children}</main>
    </div>
  )
}

function Page ({ name, params, login }: { name: RouteName, params: Record<string, string>, login: LoginSessionResource }): JSX.Element {
  const admin = isAdmin(login)
  const forbidden = <Denied />
  switch (name) {
    case 'sessions': return <Sessions />
    case 'session': return <SessionDetail id={params.id} />
    case 'viewer': return <Viewer id={params.id} />
    case 'devices': return <Devices />
    case 'code': return <CodeEntry />
    case 'members': return admin ? <Members /> : forbidden
    case 'settings': return admin ? <Settings /> : forbidden
    case 'sso': return admin ? <Sso /> : forbidden
    case 'keys': return admin ? <Keys /> : forbidden
    case 'profile': return <Profile />
    case 'admin': return login.superuser ? <Admin /> : forbidden
    default: return (
      <section>
        <h1 tabIndex={-1}>Page not found</h1>
        <p>There is no such page in the dashboard. <a href={href('/sessions')}>Go to the sessions</a>.</p>
      </section>
    )
  }
}

function Denied (): JSX.Element {
  return (
    <section>
      <h1 tabIndex={-1}>Not available to agents</h1>
      <p>Only administrators of this account can open this page. Ask one of them if you need a change.</p>
    </section>
  )
}
