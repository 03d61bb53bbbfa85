// Picking one of the email's accounts after signing in, and switching between them.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { navigate } from '../router.ts'
import { useMe } from '../session.ts'
import { Button, ErrorState, StatusBadge, toast } from '../ui/index.ts'

async function choose (id: string, me: ReturnType<typeof useMe>): Promise<void> {
  const login = await tandem.login.switchAccount(id)
  me.setLogin(login)
  navigate('/sessions')
}

export function AccountPicker (): JSX.Element {
  const me = useMe()
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const accounts = me.login.accounts
  return (
    <div class='t-card'>
      <h1 tabIndex={-1}>Pick an account</h1>
      {accounts.length === 0 && me.login.superuser && <p>{me.login.email} runs this server but belongs to no account yet: open one from Admin, or create one there.</p>}
      {accounts.length === 0 && !me.login.superuser && <p>{me.login.email} is not a member of any account yet. Ask an administrator to invite you, then open the link in their email.</p>}
      {accounts.length > 0 && <p class='t-muted'>{me.login.email} belongs to {accounts.length === 1 ? 'one account' : 'several accounts'}. You can switch at any time from the top bar.</p>}
      {error && <ErrorState text={error} />}
      <ul class='picker'>
        {accounts.map((a) => (
          <li key={a.id}>
            <Button busy={busy === a.id} onClick={() => {
              setBusy(a.id)
              choose(a.id, me).catch((e) => { setError(describeError(e)); setBusy(null) })
            }}>
              <span>{a.name}</span><StatusBadge status={a.role} />
            </Button>
          </li>
        ))}
      </ul>
      {me.login.superuser && <p><a class='t-button t-button--primary' href='/dashboard/admin'>Go to Admin</a></p>}
      <p><Button variant='ghost' onClick={() => { tandem.login.signOut().finally(() => navigate('/login')).catch(() => {}) }}>Sign out</Button></p>
    </div>
  )
}

/** The top bar's account menu: the selected account, and the others to switch to. */
export function AccountSwitcher (): JSX.Element | null {
  const me = useMe()
  const { account, accounts } = me.login
  if (!account) return <a href='/dashboard/accounts'>Pick an account</a>
  if (accounts.length < 2 && !accounts.some((a) => a.id !== account.id)) {
    return <span class='t-muted' aria-label='Account'>{account.name}</span>
  }
  const list = accounts.some((a) => a.id === account.id) ? accounts : [account, ...accounts]
  return (
    <label class='row'>
      <span class='t-sr-only'>Account</span>
      <select class='t-select' style={{ width: 'auto', maxWidth: '180px' }} value={account.id} onChange={(e) => {
        const id = (e.currentTarget as HTMLSelectElement).value
        choose(id, me).then(() => toast('Switched account')).catch((err) => toast(describeError(err), 'error'))
      }}>
        {list.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
      </select>
    </label>
  )
}
