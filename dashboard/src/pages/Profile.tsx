// Profile: who I am, my sign-ins (one per browser) with revoke, and sign-out.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { ago, browserName, when } from '../lib/format.ts'
import { useMe } from '../session.ts'
import { Button, ErrorState, Loading, StatusBadge, toast } from '../ui/index.ts'

export function Profile (): JSX.Element {
  const me = useMe()
  const sessions = useLoad((signal) => tandem.login.sessions({ signal }), [])
  const [busy, setBusy] = useState<string | null>(null)
  const signOut = async (): Promise<void> => {
    setBusy('out')
    try {
      await tandem.login.signOut()
      // A fresh page: nothing of the signed-in state stays in memory.
      location.replace('/dashboard/login')
    } catch (e) {
      toast(describeError(e), 'error')
      setBusy(null)
    }
  }
  return (
    <section>
      <div class='page-head'>
        <h1 tabIndex={-1}>Profile</h1>
        <Button variant='primary' busy={busy === 'out'} onClick={() => { void signOut() }}>Sign out</Button>
      </div>
      <div class='t-card'>
        <dl class='dl'>
          <dt>Email</dt><dd>{me.login.email}</dd>
          <dt>Account</dt><dd>{me.login.account?.name}</dd>
          <dt>Role</dt><dd>{me.login.account && <StatusBadge status={me.login.account.role} />}{me.login.superuser ? ' superuser of this server' : ''}</dd>
          <dt>Signed in until</dt><dd>{when(me.login.expires)} at the latest (a week without use signs you out)</dd>
        </dl>
      </div>
      <div class='t-card'>
        <h2>Where you are signed in</h2>
        {sessions.loading && <Loading />}
        {sessions.error && <ErrorState text={sessions.error} retry={() => { void sessions.reload() }} />}
        {sessions.data && (
          <table class='t-table' aria-label='Your sign-ins'>
            <thead><tr><th>Browser</th><th>Signed in</th><th>Last seen</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {sessions.data.map((s) => (
                <tr key={s.id}>
                  <td data-label='Browser'>{browserName(s.user_agent)}{s.current ? <> <StatusBadge status='current' label='this browser' tone='success' /></> : null}</td>
                  <td data-label='Signed in'>{when(s.created)}</td>
                  <td data-label='Last seen'>{ago(s.last_seen)}</td>
                  <td data-label=''>
                    {s.current
                      ? <Button small onClick={() => { void signOut() }}>Sign out</Button>
                      : <Button small busy={busy === s.id} aria-label={`Sign out ${browserName(s.user_agent)}`} onClick={() => {
                        setBusy(s.id)
                        tandem.login.revoke(s.id).then(() => { toast('Signed out there'); return sessions.reload() })
                          .catch((e) => toast(describeError(e), 'error')).finally(() => setBusy(null))
                      }}>Sign out</Button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  )
}
