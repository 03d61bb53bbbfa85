// One session: state (live), custom data, device, agents, the history timeline, Open and End.
import type { Session, SessionHistoryResource } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { deviceLabel, duration, when } from '../lib/format.ts'
import { href } from '../router.ts'
import { Button, ButtonLink, Dialog, Empty, ErrorState, Loading, StatusBadge, toast } from '../ui/index.ts'

export function SessionDetail ({ id }: { id: string }): JSX.Element {
  const loaded = useLoad((signal) => tandem.sessions.get(id, undefined, { signal }), [id])
  const [, setTick] = useState(0)
  const [history, setHistory] = useState<SessionHistoryResource | null>(null)
  const [historyError, setHistoryError] = useState<string | null>(null)
  const [confirm, setConfirm] = useState(false)
  const [busy, setBusy] = useState(false)
  const session = loaded.data

  useEffect(() => {
    if (!session) return
    const rerender = (): void => setTick((t) => t + 1)
    const readHistory = (): void => { session.history().then(setHistory, (e) => setHistoryError(describeError(e))) }
    session.on('updated', rerender)
    session.on('updated', readHistory)
    readHistory()
    if (!session.isEnded()) session.subscribe().catch(() => {})
    // Pages and their durations move on while nothing about the session itself changes.
    const timer = setInterval(readHistory, 10_000)
    return () => { session.off('updated', rerender); session.off('updated', readHistory); session.unsubscribe(); clearInterval(timer) }
  }, [session])

  if (loaded.loading) return <section><h1 tabIndex={-1}>Session</h1><Loading /></section>
  if (!session) return <section><h1 tabIndex={-1}>Session</h1><ErrorState text={loaded.error ?? 'Not found'} retry={() => { void loaded.reload() }} /></section>

  const end = async (): Promise<void> => {
    setBusy(true)
    try {
      await session.end()
      toast('Session ended')
      setConfirm(false)
    } catch (e) {
      toast(describeError(e), 'error')
    } finally {
      setBusy(false)
    }
  }

  return (
    <section>
      <div class='page-head'>
        <h1 tabIndex={-1}>Session <StatusBadge status={session.state} label={session.isAuthorizing() ? 'waiting for consent' : session.state} /></h1>
        <div class='row'>
          {!session.isEnded() && <ButtonLink variant='primary' href={href(`/sessions/${encodeURIComponent(session.id)}/view`)}>Open</ButtonLink>}
          {!session.isEnded() && <Button variant='danger' onClick={() => setConfirm(true)}>End</Button>}
          <ButtonLink href={href('/sessions')}>All sessions</ButtonLink>
        </div>
      </div>
      <div class='grid2'>
        <div class='t-card'>
          <h2>Details</h2>
          <Details session={session} />
        </div>
        <div class='t-card'>
          <h2>Custom data</h2>
          {Object.keys(session.custom_data).length === 0
            ? <p class='t-muted'>None. Pages and integrations can tag sessions with their own data.</p>
            : <dl class='dl'>{Object.entries(session.custom_data).map(([k, v]) => <><dt>{k}</dt><dd>{String(v)}</dd></>)}</dl>}
          <h2 style={{ marginTop: 'var(--t-space-4)' }}>Device</h2>
          {session.device && <p>{deviceLabel(session.device)}</p>}
          {session.device
            ? <dl class='dl'>{Object.entries(session.device).filter(([, v]) => v !== null && v !== '' && typeof v !== 'object').map(([k, v]) => <><dt>{k.replace(/_/g, ' ')}</dt><dd>{String(v)}</dd></>)}</dl>
            : <p class='t-muted'>No device has joined yet.</p>}
        </div>
      </div>
      <div class='t-card'>
        <h2>History</h2>
        {historyError && <ErrorState text={historyError} />}
        {!history && !historyError && <Loading text='Loading the history…' />}
        {history && <Timeline history={history} />}
      </div>
      <Dialog open={confirm} title='End this session?' onClose={() => setConfirm(false)}>
        <p>The customer's page stops being shared, for every agent in it. This cannot be undone.</p>
        <div class='t-dialog__actions'>
          <Button onClick={() => setConfirm(false)}>Keep it</Button>
          <Button variant='danger' busy={busy} onClick={() => { void end() }}>End session</Button>
        </div>
      </Dialog>
    </section>
  )
}

function Details ({ session }: { session: Session }): JSX.Element {
  return (
    <dl class='dl'>
      <dt>Id</dt><dd class='t-mono'>{session.id}</dd>
      {session.code && session.isPending() && <><dt>Code</dt><dd class='t-mono'>{session.code}</dd></>}
      <dt>Created</dt><dd>{when(session.created)}</dd>
      <dt>Active since</dt><dd>{when(session.activated)}</dd>
      {session.ended && <><dt>Ended</dt><dd>{when(session.ended)} ({session.ended_reason?.replace(/_/g, ' ') ?? 'ended'})</dd></>}
      <dt>Agents</dt><dd>{session.agents.map((a) => a.name || a.email).join(', ') || 'none yet'}</dd>
      <dt>Remote control</dt><dd>{session.remote_control}</dd>
    </dl>
  )
}

type Entry = { at: string, kind: 'page' | 'agent', text: string }

/** Pages and agents' comings and goings, in time order. */
export function timeline (history: SessionHistoryResource): Entry[] {
  const entries: Entry[] = []
  for (const p of history.pages) entries.push({ at: p.entered, kind: 'page', text: `${p.title || '(untitled)'} — ${p.url} · ${duration(p.duration_secs)}` })
  for (const a of history.agents) {
    const who = a.agent?.name || a.agent?.email || 'An agent'
    entries.push({ at: a.joined, kind: 'agent', text: `${who} joined` })
    if (a.left) entries.push({ at: a.left, kind: 'agent', text: `${who} left` })
  }
  return entries.sort((x, y) => Date.parse(x.at) - Date.parse(y.at))
}

function Timeline ({ history }: { history: SessionHistoryResource }): JSX.Element {
  const entries = timeline(history)
  if (entries.length === 0) return <Empty>Nothing yet: the customer's pages and the agents who join appear here.</Empty>
  return (
    <ol class='timeline' aria-label='History'>
      {entries.map((e, i) => <li key={i} class={e.kind}><span class='t-muted'>{when(e.at)}</span><br />{e.text}</li>)}
    </ol>
  )
}
