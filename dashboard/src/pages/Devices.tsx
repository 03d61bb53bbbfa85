// Devices: the customers' browsers with live presence (each followed on the socket), custom-data
// filters and last active; Connect opens a session, asks the device to join, waits for the
// customer's consent and opens the viewer.
import type { Device, DevicesQuery, Session } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { filterQuery, filtersToText, parseFilters } from '../lib/filters.ts'
import { ago, customData, deviceLabel } from '../lib/format.ts'
import { navigate, setQuery } from '../router.ts'
import { Button, Dialog, Empty, ErrorState, Input, Loading, StatusBadge } from '../ui/index.ts'

const PAGE = 20

function describeDevice (d: Device): string {
  const label = deviceLabel(d.device)
  return label === '—' ? d.id : label
}

export function Devices (): JSX.Element {
  const initial = new URLSearchParams(location.search)
  const [filterText, setFilterText] = useState(initial.get('f') ?? '')
  const [applied, setApplied] = useState(() => parseFilters(initial.get('f') ?? '').filters)
  const [filterError, setFilterError] = useState<string | null>(null)
  const [pages, setPages] = useState<string[]>([])
  const [list, setList] = useState<Device[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [, setTick] = useState(0)
  const [connecting, setConnecting] = useState<Device | null>(null)
  const followed = useRef<Device[]>([])
  const rerender = useRef((): void => setTick((t) => t + 1)).current

  const before = pages[pages.length - 1]
  const query: DevicesQuery = { limit: PAGE, ...filterQuery(applied) }
  if (before) query.seen_before = before
  const key = JSON.stringify(query)

  useEffect(() => { setQuery({ f: filtersToText(applied) || undefined }) }, [applied])

  const load = async (signal?: AbortSignal): Promise<void> => {
    try {
      const fresh = await tandem.devices.list(query, { signal })
      if (signal?.aborted) return
      // Devices already followed stay (with the presence pushed since); new ones are followed.
      const kept = new Map(followed.current.map((d) => [d.id, d]))
      const next = fresh.map((d) => kept.get(d.id) ?? d)
      for (const d of followed.current) if (!next.includes(d)) { d.unsubscribe(); d.off('updated', rerender) }
      for (const d of next) {
        if (kept.has(d.id)) continue
        d.on('updated', rerender)
        d.subscribe().catch(() => {})
      }
      followed.current = next
      setList(next)
      setError(null)
    } catch (e) {
      if (!signal?.aborted) setError(describeError(e))
    }
  }

  useEffect(() => {
    const controller = new AbortController()
    setList(null)
    void load(controller.signal)
    // Presence is pushed; the list itself (new devices) is read again now and then.
    const timer = setInterval(() => { void load(controller.signal) }, 15_000)
    return () => {
      controller.abort()
      clearInterval(timer)
      for (const d of followed.current) { d.unsubscribe(); d.off('updated', rerender) }
      followed.current = []
    }
  }, [key])

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
      <div class='page-head'><h1 tabIndex={-1}>Devices</h1><span class='live'>presence updates live</span></div>
      <form class='toolbar t-card' onSubmit={apply} aria-label='Filter devices'>
        <Input label='Custom data' placeholder='user_id=u-123' value={filterText} onValue={setFilterText} error={filterError} name='filters' />
        <Button type='submit'>Apply</Button>
      </form>
      {error && <ErrorState text={`The devices could not be loaded. ${error}`} retry={() => { void load() }} />}
      {list === null && !error && <Loading text='Loading devices…' />}
      {list !== null && list.length === 0 && <Empty>No devices match. A device appears once a page with the Tandem web SDK has loaded.</Empty>}
      {list !== null && list.length > 0 && (
        <div class='t-card table-card'><table class='t-table' aria-label='Devices'>
          <thead><tr><th>Device</th><th>Custom data</th><th>Presence</th><th>Last active</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id} data-device={d.id}>
                <td data-label='Device'>{describeDevice(d)}</td>
                <td data-label='Custom data'>{customData(d.custom_data)}</td>
                <td data-label='Presence'><StatusBadge status={d.online ? 'online' : 'offline'} /></td>
                <td data-label='Last active'>{d.online ? 'now' : ago(d.last_active)}</td>
                <td data-label=''>
                  <Button small variant='primary' disabled={!d.connectable} onClick={() => setConnecting(d)}
                    aria-label={`Connect to ${describeDevice(d)}`}>Connect</Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      <div class='pager'>
        {pages.length > 0 && <Button small onClick={() => setPages(pages.slice(0, -1))}>Newer</Button>}
        {list !== null && list.length === PAGE && <Button small onClick={() => {
          const last = list[list.length - 1].last_active
          if (last) setPages([...pages, last.toISOString()])
        }}>Older</Button>}
      </div>
      {connecting && <Connect device={connecting} onClose={() => setConnecting(null)} />}
    </section>
  )
}

type Step = 'asking' | 'waiting' | 'declined' | 'failed'

/** The connect dialog: session, notification, consent, then the viewer. */
function Connect ({ device, onClose }: { device: Device, onClose: () => void }): JSX.Element {
  const [step, setStep] = useState<Step>('asking')
  const [error, setError] = useState<string | null>(null)
  const session = useRef<Session | null>(null)

  useEffect(() => {
    let cancelled = false
    const run = async (): Promise<void> => {
      const s = await tandem.sessions.create({ agent: 'me', custom_data: device.custom_data })
      session.current = s
      const follow = (): void => {
        if (cancelled) return
        if (s.isActive()) navigate(`/sessions/${encodeURIComponent(s.id)}/view`)
        else if (s.isEnded()) setStep('declined')
        else if (s.isAuthorizing()) setStep('waiting')
      }
      s.on('updated', follow)
      await s.subscribe().catch(() => {})
      let lastError: unknown = null
      for (let attempt = 1; attempt <= 3 && !cancelled; attempt++) {
        try {
          await device.notify({ session: s, attempt })
          lastError = null
          break
        } catch (e) {
          lastError = e
          await new Promise((resolve) => setTimeout(resolve, 1500))
        }
      }
      if (lastError) throw lastError
      if (!cancelled) setStep((now) => (now === 'asking' ? 'waiting' : now))
      // The socket pushes the customer's answer; a slow poll covers a socket that is not there.
      while (!cancelled && !s.isEnded() && !s.isActive()) {
        await new Promise((resolve) => setTimeout(resolve, 2000))
        if (!cancelled) await s.fetch().catch(() => {})
      }
    }
    run().catch((e) => { if (!cancelled) { setError(describeError(e)); setStep('failed') } })
    return () => { cancelled = true; session.current?.unsubscribe() }
  }, [device])

  const cancel = (): void => {
    const s = session.current
    if (s && !s.isEnded() && !s.isActive()) s.end().catch(() => {})
    onClose()
  }

  return (
    <Dialog open title='Connect to the customer' onClose={cancel}>
      <div role='status' aria-live='polite'>
        {step === 'asking' && <p><span class='t-spinner' aria-hidden='true' />Asking the customer's page to join…</p>}
        {step === 'waiting' && <p><span class='t-spinner' aria-hidden='true' />Waiting for the customer to accept on their page…</p>}
        {step === 'declined' && <p>The customer declined, or the session ended before they accepted.</p>}
      </div>
      {step === 'failed' && <ErrorState text={`Could not reach the customer: ${error ?? ''}`} />}
      <div class='t-dialog__actions'>
        <Button onClick={cancel} autofocus>{step === 'declined' || step === 'failed' ? 'Close' : 'Cancel'}</Button>
      </div>
    </Dialog>
  )
}
