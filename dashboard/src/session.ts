// Who is signed in, for every page: the login session and what its role allows.
import type { LoginSessionResource } from '@tandem/agent'
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'

export interface Me {
  login: LoginSessionResource
  /** Reads the sign-in again (after switching account, say). */
  refresh: () => Promise<void>
  setLogin: (login: LoginSessionResource) => void
}

export const MeContext = createContext<Me | null>(null)

export function useMe (): Me {
  const me = useContext(MeContext)
  if (!me) throw new Error('useMe outside a signed-in page')
  return me
}

/** Administrators of the selected account (superusers act as administrators everywhere). */
export function isAdmin (login: LoginSessionResource): boolean {
  return login.account?.role === 'administrator' || login.superuser
}
