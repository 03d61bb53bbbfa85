// Members (administrators): invite by email with a role, change roles, remove members, end their
// sign-ins, and the invitations still pending.
import type { MemberResource, Role } from '@tandem/agent'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { when } from '../lib/format.ts'
import { emailError } from '../lib/validate.ts'
import { useMe } from '../session.ts'
import { Button, Dialog, Empty, ErrorState, Input, Loading, Select, StatusBadge, toast } from '../ui/index.ts'

const ROLES = [{ value: 'agent', label: 'Agent' }, { value: 'administrator', label: 'Administrator' }]

export function Members (): JSX.Element {
  const me = useMe()
  const members = useLoad((signal) => tandem.members.list({ signal }), [me.login.account?.id])
  const invitations = useLoad((signal) => tandem.invitations.list({ signal }), [me.login.account?.id])
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('agent')
  const [emailProblem, setEmailProblem] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [removing, setRemoving] = useState<MemberResource | null>(null)

  const run = async (key: string, what: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(key)
    try {
      await what()
      toast(done)
    } catch (e) {
      toast(describeError(e), 'error')
    } finally {
      setBusy(null)
    }
  }

  const invite = async (e: Event): Promise<void> => {
    e.preventDefault()
    const problem = emailError(email)
    setEmailProblem(problem)
    if (problem) return
    await run('invite', async () => {
      await tandem.invitations.create({ email: email.trim(), role })
      setEmail('')
      await invitations.reload()
    }, `Invitation sent to ${email.trim()}`)
  }

  return (
    <section>
      <h1 tabIndex={-1}>Members</h1>
      <div class='t-card'>
        <h2>Invite someone</h2>
        <form class='toolbar' onSubmit={invite} noValidate>
          <Input label='Email address' type='email' name='invite-email' value={email} onValue={setEmail} error={emailProblem} autoComplete='off' />
          <Select label='Role' value={role} onValue={(v) => setRole(v as Role)} options={ROLES} />
          <Button type='submit' variant='primary' busy={busy === 'invite'}>Send invitation</Button>
        </form>
        <p class='t-muted'>They get an email with a link; opening it makes them a member. Agents see sessions and devices; administrators also manage members, settings and keys.</p>
      </div>

      <div class='t-card'>
        <h2>People</h2>
        {members.loading && <Loading />}
        {members.error && <ErrorState text={members.error} retry={() => { void members.reload() }} />}
        {members.data && members.data.length === 0 && <Empty>No members yet.</Empty>}
        {members.data && members.data.length > 0 && (
          <table class='t-table' aria-label='Members'>
            <thead><tr><th>Member</th><th>Role</th><th>Sign-ins</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.id} data-member={m.email}>
                  <td data-label='Member'>{m.name && m.name !== m.email ? <>{m.name}<br /></> : null}<span class='t-muted'>{m.email}</span>{m.id === me.login.user?.id ? ' (you)' : ''}</td>
                  <td data-label='Role'>
                    <label class='t-sr-only' for={`role-${m.id}`}>Role of {m.email}</label>
                    <select id={`role-${m.id}`} class='t-select' value={m.role} disabled={busy === m.id} onChange={(e) => {
                      const next = (e.currentTarget as HTMLSelectElement).value as Role
                      void run(m.id, async () => { await tandem.members.setRole(m.id, next); await members.reload() }, `${m.email} is now ${next === 'agent' ? 'an agent' : 'an administrator'}`)
                        .then(() => members.reload())
                    }}>
                      {ROLES.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
                    </select>
                  </td>
                  <td data-label='Sign-ins'>{m.login_sessions}</td>
                  <td data-label=''>
                    <div class='row'>
                      <Button small disabled={m.login_sessions === 0} busy={busy === `revoke-${m.id}`} aria-label={`Sign out everywhere: ${m.email}`}
                        onClick={() => { void run(`revoke-${m.id}`, async () => { await tandem.members.revokeSessions(m.id); await members.reload() }, `${m.email} is signed out everywhere`) }}>Sign out everywhere</Button>
                      <Button small variant='danger' aria-label={`Remove ${m.email}`} onClick={() => setRemoving(m)}>Remove</Button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <div class='t-card'>
        <h2>Pending invitations</h2>
        {invitations.loading && <Loading />}
        {invitations.error && <ErrorState text={invitations.error} retry={() => { void invitations.reload() }} />}
        {invitations.data && invitations.data.length === 0 && <Empty>No invitations are waiting.</Empty>}
        {invitations.data && invitations.data.length > 0 && (
          <table class='t-table' aria-label='Pending invitations'>
            <thead><tr><th>Email</th><th>Role</th><th>Expires</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {invitations.data.map((i) => (
                <tr key={i.id}>
                  <td data-label='Email'>{i.email}</td>
                  <td data-label='Role'><StatusBadge status={i.role} /></td>
                  <td data-label='Expires'>{when(i.expires)}</td>
                  <td data-label=''>
                    <Button small busy={busy === i.id} aria-label={`Withdraw the invitation of ${i.email}`}
                      onClick={() => { void run(i.id, async () => { await tandem.invitations.remove(i.id); await invitations.reload() }, 'Invitation withdrawn') }}>Withdraw</Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <Dialog open={removing !== null} title={`Remove ${removing?.email ?? ''}?`} onClose={() => setRemoving(null)}>
        <p>They lose access to this account at once: their sign-ins and open sessions end. You can invite them again later.</p>
        <div class='t-dialog__actions'>
          <Button onClick={() => setRemoving(null)}>Cancel</Button>
          <Button variant='danger' busy={busy === 'remove'} onClick={() => {
            const m = removing
            if (!m) return
            void run('remove', async () => { await tandem.members.remove(m.id); setRemoving(null); await members.reload() }, `${m.email} was removed`)
          }}>Remove</Button>
        </div>
      </Dialog>
    </section>
  )
}
