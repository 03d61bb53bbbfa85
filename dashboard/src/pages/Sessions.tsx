// Sessions: the list, live (polled every 2.5 s, and each listed session followed on the socket),
// with filters for state, mine / everyone (administrators) and custom data, paged by time.
import type { Session, SessionsQuery } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { filterQuery, filtersToText, parseFilters } from '../lib/filters.ts'
import { ago, customData, deviceLabel } from '../lib/format.ts'
import { href, setQuery } from '../router.ts'
import { isAdmin, useMe } from '../session.ts'
import { Button, ButtonLink, Empty, ErrorState, Input, Loading, Select, StatusBadge } from '../ui/index.ts'

const PAGE = 20
const POLL_MS = 2500

const STATES: Record<string, string[] | undefined> = {
  live: ['pending', 'authorizing', 'active'],
  pending: ['pending'],
  authorizing: ['authorizing'],
  active: ['active'],
  ended: ['ended'],
  all: undefined
}

/** The list query from the page's filters; `before` pages back in time. */
export function sessionsQuery (state: string, everyone: boolean, filters: Record<string, string>, before?: string): SessionsQuery {
  const query: SessionsQuery = { limit: PAGE, ...filters }
  const states = state in STATES ? STATES[state] : STATES.live
  if (states) query.state = states
  if (everyone) query.agent = 'all'
  if (before) query.activated_before = before
  return query
}

/** The paging cursor after a session: when it became active, or else was created. */
function cursor (s: Session): string | undefined {
  return (s.activated ?? s.created)?.toISOString()
}

export function Sessions (): JSX.Element {
  const me = useMe()
  const admin = isAdmin(me.login)
  const initial = new URLSearchParams(location.search)
  const [state, setState] = useState(initial.get('state') ?? 'live')
  const [scope, setScope] = useState(initial.get('agent') === 'me' || !admin ? 'me' : 'all')
  const [filterText, setFilterText] = useState(initial.get('f') ?? '')
  const [applied, setApplied] = useState(() => parseFilters(initial.get('f') ?? '').filters)
  const [filterError, setFilterError] = useState<string | null>(null)
  const [pages, setPages] = useState<string[]>([])
  const [list, setList] = useState<Session[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [, setTick] = useState(0)
  const followed = useRef(new Map<string, Session>())

  const before = pages[pages.length - 1]
  const query = sessionsQuery(state, admin && scope === 'all', filterQuery(applied), before)
  const key = JSON.stringify(query)

  useEffect(() => {
    setQuery({ state: state === 'live' ? undefined : state, agent: admin && scope === 'me' ? 'me' : undefined, f: filtersToText(applied) || undefined })
  }, [state, scope, applied])

  // Poll the list; follow every listed session live, and stop following those that left it.
  useEffect(() => {
    let stopped = false
    let controller: AbortController | null = null
    const rerender = (): void => setTick((t) => t + 1)
    const load = async (): Promise<void> => {
      controller = new AbortController()
      try {
        const fresh = await tandem.sessions.list(query, { signal: controller.signal })
        if (stopped) return
        const ids = new Set(fresh.map((s) => s.id))
        for (const [id, s] of followed.current) {
          if (!ids.has(id)) { s.unsubscribe(); s.off('updated', rerender); followed.current.delete(id) }
        }
        for (const s of fresh) {
          if (followed.current.has(s.id) || s.isEnded()) continue
          followed.current.set(s.id, s)
          s.on('updated', rerender)
          s.subscribe().catch(() => { /* the poll still shows it */ })
        }
        setList(fresh)
        setError(null)
      } catch (e) {
        if (!stopped) setError(describeError(e))
      }
    }
    setList(null)
    void load()
    const timer = setInterval(() => { void load() }, POLL_MS)
    return () => {
      stopped = true
      controller?.abort()
      clearInterval(timer)
      for (const s of followed.current.values()) { s.unsubscribe(); s.off('updated', rerender) }
      followed.current.clear()
    }
  }, [key])

  // What is shown: the newest of the polled data and what the socket pushed.
  const rows = (list ?? []).map((s) => {
    const pushed = followed.current.get(s.id)
    return pushed && (pushed.updated?.getTime() ?? 0) >= (s.updated?.getTime() ?? 0) ? pushed : s
  })

  const apply = (e: Event): void => {
    e.preventDefault()
    const parsed = parseFilters(filterText)
    setFilterError(parsed.error)
    if (parsed.error) return
    setApplied(parsed.filters)
    setPages([])
  }

  return (
    <section>
      <div class='page-head'>
        <h1 tabIndex={-1}>Sessions</h1>
        <span class='live' aria-live='polite'>{list ? `${rows.length} shown · updated live` : ''}</span>
      </div>
      <form class='toolbar t-card' onSubmit={apply} aria-label='Filter sessions'>
        <Select label='State' value={state} onValue={(v) => { setState(v); setPages([]) }} options={[
          { value: 'live', label: 'Live' },
          { value: 'pending', label: 'Pending' },
          { value: 'authorizing', label: 'Waiting for consent' },
          { value: 'active', label: 'Active' },
          { value: 'ended', label: 'Ended' },
          { value: 'all', label: 'All' }
        ]} />
        {admin && (
          <Select label='Agent' value={scope} onValue={(v) => { setScope(v); setPages([]) }} options={[
            { value: 'all', label: 'Everyone' },
            { value: 'me', label: 'Mine' }
          ]} />
        )}
        <Input label='Custom data' placeholder='user_id=u-123' value={filterText} onValue={setFilterText} error={filterError}
          name='filters' />
        <Button type='submit'>Apply</Button>
      </form>
      {error && <ErrorState text={`The sessions could not be loaded. ${error}`} />}
      {list === null && !error && <Loading text='Loading sessions…' />}
      {list !== null && rows.length === 0 && (
        <Empty>
          {pages.length ? 'No older sessions.' : 'No sessions match. New ones appear here as customers start them.'}{' '}
          <a href={href('/code')}>Enter a customer's code</a>
        </Empty>
      )}
      {rows.length > 0 && (
        <div class='t-card table-card'><table class='t-table' aria-label='Sessions'>
          <thead><tr><th>State</th><th>Customer</th><th>Agents</th><th>Started</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td data-label='State'><StatusBadge status={s.state} label={s.state === 'authorizing' ? 'waiting for consent' : s.state} />{s.code && s.isPending() ? <span class='t-muted'> code {s.code}</span> : null}</td>
                <td data-label='Customer'>{customData(s.custom_data) !== '—' ? customData(s.custom_data) : deviceLabel(s.device)}</td>
                <td data-label='Agents'>{s.agents.map((a) => a.name || a.email).join(', ') || '—'}</td>
                <td data-label='Started'>{ago(s.activated ?? s.created)}</td>
                <td data-label=''>
                  <div class='row'>
                    <ButtonLink small href={href(`/sessions/${encodeURIComponent(s.id)}`)} aria-label={`Details of session ${s.id}`}>Details</ButtonLink>
                    {!s.isEnded() && <ButtonLink small variant='primary' href={href(`/sessions/${encodeURIComponent(s.id)}/view`)} aria-label={`Open session ${s.id}`}>Open</ButtonLink>}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      <div class='pager'>
        {pages.length > 0 && <Button small onClick={() => setPages(pages.slice(0, -1))}>Newer</Button>}
        {rows.length === PAGE && <Button small onClick={() => { const c = cursor(rows[rows.length - 1]); if (c) setPages([...pages, c]) }}>Older</Button>}
      </div>
    </section>
  )
}
