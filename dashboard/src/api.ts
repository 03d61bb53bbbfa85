// The one TandemAPI of the app, in cookie mode: the browser's sign-in cookie authenticates, and
// the sign-in's CSRF token goes with every call.
import { TandemAPI, type LoginSessionResource } from '@tandem/agent'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { describeError } from './lib/errors.ts'

let csrf: string | undefined

export const tandem = new TandemAPI(undefined, { csrf: () => csrf, retries: 1, timeout: 20_000 })

/** Keeps the CSRF token of the sign-in the server last described. */
export function remember (login: LoginSessionResource | null): void {
  csrf = login?.csrf_token || undefined
}

export interface Loaded<T> {
  data: T | undefined
  error: string | null
  /** The raw failure, to tell a sign-out from the rest. */
  failure: unknown
  loading: boolean
  reload: () => Promise<void>
  setData: (data: T) => void
}

/** Loads `load()` now and whenever `deps` change; `reload()` again on demand (keeping the data
 * shown meanwhile, so polling does not flash). */
export function useLoad<T> (load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [failure, setFailure] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const current = useRef<AbortController | null>(null)
  const run = useCallback(async (): Promise<void> => {
    current.current?.abort()
    const controller = new AbortController()
    current.current = controller
    try {
      const value = await load(controller.signal)
      if (controller.signal.aborted) return
      setData(value)
      setFailure(null)
    } catch (e) {
      if (controller.signal.aborted) return
      setFailure(e)
    } finally {
      if (!controller.signal.aborted) setLoading(false)
    }
  }, deps)
  useEffect(() => {
    setLoading(true)
    setData(undefined)
    void run()
    return () => current.current?.abort()
  }, [run])
  return { data, error: failure ? describeError(failure) : null, failure, loading, reload: run, setData }
}
