// /dashboard/login: the email form ("check your email"), `#token=` from an emailed link, which
// is redeemed, cleared from the address and lands in the console, and single sign-on: a work
// email or account ID sends the browser to the account's identity provider.
import { APIError, type LoginSessionResource, type SsoTarget } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { emailError } from '../lib/validate.ts'
import { href, navigate } from '../router.ts'
import { Button, ErrorState, Input, Loading } from '../ui/index.ts'

/** Where to go after signing in: `?next=` when it is a dashboard page, else the sessions. */
export function landing (search: string): string {
  const next = new URLSearchParams(search).get('next') ?? ''
  if (next.startsWith('/dashboard/') && !next.startsWith('/dashboard/login') && !next.includes('//')) return next.slice('/dashboard'.length)
  return '/sessions'
}

/** Whom a single sign-on is for: an address (it has an `@`) or an account ID; or what is wrong. */
export function ssoTarget (text: string): { target: SsoTarget | null, error: string | null } {
  const t = text.trim()
  if (t === '') return { target: null, error: 'Write your work email or your account ID' }
  if (t.includes('@')) {
    const problem = emailError(t)
    return problem ? { target: null, error: problem } : { target: { email: t }, error: null }
  }
  if (/\s/.test(t)) return { target: null, error: `"${t}" is neither an email address nor an account ID` }
  return { target: { account: t }, error: null }
}

function hashToken (): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('token')
}

export function Login ({ onSignedIn }: { onSignedIn: (login: LoginSessionResource) => void }): JSX.Element {
  const [token, setToken] = useState(hashToken)
  const [redeeming, setRedeeming] = useState(Boolean(token))
  const [linkError, setLinkError] = useState<string | null>(null)
  const [email, setEmail] = useState('')
  const [fieldError, setFieldError] = useState<string | null>(null)
  const [sent, setSent] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [failure, setFailure] = useState<string | null>(null)
  const heading = useRef<HTMLHeadingElement>(null)

  // A link opened in this same tab (pasted into the address bar) changes only the hash.
  useEffect(() => {
    const onHash = (): void => { const t = hashToken(); if (t) setToken(t) }
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])

  useEffect(() => {
    if (!token) return
    setRedeeming(true)
    setSent(null)
    // The token leaves the address bar at once: it is single-use and should not linger in history.
    history.replaceState(null, '', location.pathname + location.search)
    tandem.login.redeem(token).then((login) => {
      onSignedIn(login)
      navigate(login.account ? landing(location.search) : '/accounts', { replace: true })
    }).catch((e) => {
      setLinkError(describeError(e))
      setRedeeming(false)
      setToken(null)
    })
  }, [token])

  useEffect(() => { heading.current?.focus() }, [sent, linkError])

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const problem = emailError(email)
    setFieldError(problem)
    if (problem) return
    setBusy(true)
    setFailure(null)
    try {
      await tandem.login.email(email.trim(), new URLSearchParams(location.search).get('account') ?? undefined)
      setSent(email.trim())
    } catch (err) {
      setFailure(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  if (redeeming) return <main class='center'><h1>Signing you in</h1><Loading text='Checking your sign-in link…' /></main>
  if (sent) {
    return (
      <main class='center'>
        <div class='t-card'>
          <h1 tabIndex={-1} ref={heading}>Check your email</h1>
          <p>If <strong>{sent}</strong> belongs to a Tandem account, a sign-in link is on its way. It works once, for 15 minutes.</p>
          <p class='t-muted'>Nothing arrived? Check the spam folder, or ask again in a minute.</p>
          <Button onClick={() => { setSent(null); setEmail('') }}>Use another address</Button>
        </div>
      </main>
    )
  }
  return (
    <main class='center'>
      <div class='t-card'>
        <h1 tabIndex={-1} ref={heading}>Sign in to Tandem</h1>
        {linkError && <ErrorState text={linkError} />}
        <p class='t-muted'>We email you a link to sign in with; no password needed.</p>
        <form onSubmit={submit} noValidate>
          <Input label='Email address' type='email' name='email' autoComplete='email' value={email} onValue={setEmail}
            error={fieldError} required />
          {failure && <ErrorState text={failure} />}
          <Button type='submit' variant='primary' busy={busy}>Email me a sign-in link</Button>
        </form>
        <SingleSignOn />
      </div>
    </main>
  )
}

/** "Sign in with SSO": a work email or account ID, then off to the identity provider. */
function SingleSignOn (): JSX.Element {
  const [open, setOpen] = useState(false)
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const box = useRef<HTMLDivElement>(null)
  const opened = useRef(false)

  // Focus goes to the field when it opens, and back to the button when it closes (as soon as
  // they are in the page, before the next paint).
  useLayoutEffect(() => {
    if (open) box.current?.querySelector('input')?.focus()
    else if (opened.current) box.current?.querySelector('button')?.focus()
    opened.current = opened.current || open
  }, [open])

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const { target, error: problem } = ssoTarget(text)
    setError(problem)
    if (!target) return
    setBusy(true)
    try {
      // Back to the page that was asked for, as after an emailed link.
      const { url } = await tandem.login.sso(target, href(landing(location.search)))
      window.location.assign(url)
    } catch (err) {
      setError(err instanceof APIError && err.status === 404
        ? 'No single sign-on is set up for that address or account.'
        : describeError(err))
      setBusy(false)
    }
  }

  return (
    <div ref={box}>
      <p class='divider'>or</p>
      {!open
        ? <Button class='wide' onClick={() => setOpen(true)}>Sign in with SSO</Button>
        : (
          <form onSubmit={submit} noValidate aria-label='Sign in with SSO'>
            <Input label='Work email or account ID' name='sso' autoComplete='username' spellcheck={false} value={text} onValue={setText}
              error={error} hint='Your organisation’s identity provider asks you to sign in, then brings you back here.' />
            <div class='row'>
              <Button type='submit' variant='primary' busy={busy}>Continue</Button>
              <Button variant='ghost' onClick={() => { setOpen(false); setError(null) }}>Cancel</Button>
            </div>
          </form>
          )}
    </div>
  )
}
