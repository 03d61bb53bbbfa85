// Admin (superusers): the server (version, storage, Redis, region) and every account on it:
// create, rename, disable and enable, and open one.
import type { AdminAccountResource } from '@tandem/agent'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { when } from '../lib/format.ts'
import { navigate } from '../router.ts'
import { useMe } from '../session.ts'
import { Button, Dialog, Empty, ErrorState, Input, Loading, StatusBadge, toast } from '../ui/index.ts'

const REDIS: Record<string, string> = { connected: 'connected', unavailable: 'unavailable', not_configured: 'not configured (one replica)' }

export function Admin (): JSX.Element {
  const me = useMe()
  const instance = useLoad((signal) => tandem.instance.get({ signal }), [])
  const accounts = useLoad((signal) => tandem.instance.accounts.list({ signal }), [])
  const [name, setName] = useState('')
  const [nameError, setNameError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [disabling, setDisabling] = useState<AdminAccountResource | null>(null)

  const create = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (!name.trim()) { setNameError('Give the account a name'); return }
    setNameError(null)
    setBusy('create')
    try {
      const a = await tandem.instance.accounts.create({ name: name.trim() })
      toast(`Account ${a.name} created; you are its administrator`)
      setName('')
      await accounts.reload()
      await me.refresh()
    } catch (err) {
      toast(describeError(err), 'error')
    } finally {
      setBusy(null)
    }
  }

  const setDisabled = async (a: AdminAccountResource, disabled: boolean): Promise<void> => {
    setBusy(a.id)
    try {
      await tandem.instance.accounts.update(a.id, { disabled })
      toast(disabled ? `${a.name} is disabled: its agents, customers and tokens are refused` : `${a.name} is enabled again`)
      setDisabling(null)
      await accounts.reload()
    } catch (err) {
      toast(describeError(err), 'error')
    } finally {
      setBusy(null)
    }
  }

  const open = async (a: AdminAccountResource): Promise<void> => {
    try {
      me.setLogin(await tandem.login.switchAccount(a.id))
      navigate('/sessions')
    } catch (err) {
      toast(describeError(err), 'error')
    }
  }

  return (
    <section>
      <h1 tabIndex={-1}>Admin</h1>
      <div class='t-card'>
        <h2>This server</h2>
        {instance.loading && <Loading />}
        {instance.error && <ErrorState text={instance.error} retry={() => { void instance.reload() }} />}
        {instance.data && (
          <dl class='dl' aria-label='Instance'>
            <dt>Version</dt><dd>{instance.data.version}</dd>
            <dt>Storage</dt><dd>{instance.data.backend === 'postgres' ? 'PostgreSQL' : instance.data.backend === 'sqlite' ? 'SQLite' : instance.data.backend}</dd>
            <dt>Redis</dt><dd><StatusBadge status={instance.data.redis} label={REDIS[instance.data.redis] ?? instance.data.redis}
              tone={instance.data.redis === 'connected' ? 'success' : instance.data.redis === 'unavailable' ? 'danger' : 'neutral'} /></dd>
            <dt>Region</dt><dd>{instance.data.region}</dd>
            <dt>Role</dt><dd>{instance.data.role}</dd>
          </dl>
        )}
      </div>
      <div class='t-card'>
        <h2>Accounts</h2>
        <form class='toolbar' onSubmit={create} noValidate style={{ marginBottom: 'var(--t-space-4)' }}>
          <Input label='New account name' name='account-name' value={name} onValue={setName} error={nameError} />
          <Button type='submit' variant='primary' busy={busy === 'create'}>Create account</Button>
        </form>
        {accounts.loading && <Loading />}
        {accounts.error && <ErrorState text={accounts.error} retry={() => { void accounts.reload() }} />}
        {accounts.data && accounts.data.length === 0 && <Empty>No accounts yet.</Empty>}
        {accounts.data && accounts.data.length > 0 && (
          <table class='t-table' aria-label='Accounts'>
            <thead><tr><th>Account</th><th>Members</th><th>Created</th><th>Status</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {accounts.data.map((a) => (
                <tr key={a.id} data-account={a.name}>
                  <td data-label='Account'>{a.name}<br /><span class='t-muted t-mono'>{a.license_key}</span></td>
                  <td data-label='Members'>{a.members}</td>
                  <td data-label='Created'>{when(a.created)}</td>
                  <td data-label='Status'><StatusBadge status={a.disabled ? 'disabled' : 'active'} label={a.disabled ? 'disabled' : 'enabled'} /></td>
                  <td data-label=''>
                    <div class='row'>
                      <Button small disabled={a.disabled} aria-label={`Open ${a.name}`} onClick={() => { void open(a) }}>Open</Button>
                      {a.disabled
                        ? <Button small busy={busy === a.id} aria-label={`Enable ${a.name}`} onClick={() => { void setDisabled(a, false) }}>Enable</Button>
                        : <Button small variant='danger' aria-label={`Disable ${a.name}`} onClick={() => setDisabling(a)}>Disable</Button>}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <Dialog open={disabling !== null} title={`Disable ${disabling?.name ?? ''}?`} onClose={() => setDisabling(null)}>
        <p>Everyone in it is locked out at once: dashboard sign-ins, agents’ tokens, customers’ pages and open sessions. You can enable it again.</p>
        <div class='t-dialog__actions'>
          <Button onClick={() => setDisabling(null)}>Cancel</Button>
          <Button variant='danger' busy={busy === disabling?.id} onClick={() => { if (disabling) void setDisabled(disabling, true) }}>Disable account</Button>
        </div>
      </Dialog>
    </section>
  )
}
