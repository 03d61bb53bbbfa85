// The viewer embedded in the console: /session/<id> in an iframe (the same origin, so it signs in
// with the same cookie), driven with `tandem.attachContext`: tools, remote control, end. The
// console holds the session's controls; the viewer inside shows the page, its state and its view
// controls only (`agent_tools=none&session_actions=none`), so nothing is offered twice.
import type { RemoteContext, Session, Tool } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { href } from '../router.ts'
import { Button, ButtonLink, StatusBadge, toast } from '../ui/index.ts'

const TOOLS: Array<{ tool: Tool, label: string }> = [
  // The viewer's 'control' tool is its pointer, which clicks for the customer once they allow it.
  { tool: 'control', label: 'Pointer' },
  { tool: 'laser', label: 'Laser' },
  { tool: 'drawing', label: 'Draw' }
]

/** The one remote-control affordance: its words in each state of `remote_control`. */
const CONTROL: Record<string, { label: string, next: 'requested' | 'off' | null }> = {
  off: { label: 'Request control', next: 'requested' },
  requested: { label: 'Waiting for the customer…', next: null },
  on: { label: 'Stop control', next: 'off' },
  rejected: { label: 'Control declined · Ask again', next: 'requested' }
}

export function Viewer ({ id }: { id: string }): JSX.Element {
  const frame = useRef<HTMLIFrameElement>(null)
  const [ctx, setCtx] = useState<RemoteContext | null>(null)
  const [session, setSession] = useState<Session | null>(null)
  const [, setTick] = useState(0)
  const [tool, setToolState] = useState<Tool | null>(null)

  useEffect(() => {
    const iframe = frame.current
    if (!iframe) return
    let context: RemoteContext | null = null
    let gone = false
    tandem.attachContext(iframe).then((c) => {
      if (gone) { c.destroy(); return }
      context = c
      setCtx(c)
      c.on('session.updated', (s) => { setSession(s); setTick((t) => t + 1) })
      c.on('error', (e) => toast(e.message, 'error'))
    }).catch((e) => toast(describeError(e), 'error'))
    // The state is also read and followed here, so the page says it before the viewer is up.
    let followed: Session | null = null
    const rerender = (): void => setTick((t) => t + 1)
    tandem.sessions.get(id).then((s) => {
      if (gone) return
      followed = s
      setSession((now) => now ?? s)
      s.on('updated', rerender)
      if (!s.isEnded()) s.subscribe().catch(() => {})
    }).catch((e) => toast(describeError(e), 'error'))
    return () => { gone = true; context?.destroy(); followed?.unsubscribe(); followed?.off('updated', rerender) }
  }, [id])

  const act = (what: () => Promise<unknown>): void => { what().catch((e) => toast(describeError(e), 'error')) }
  const live = session && !session.isEnded()
  const usable = Boolean(ctx && session?.isActive())
  const control = CONTROL[session?.remote_control ?? 'off'] ?? CONTROL.off

  return (
    <section>
      <div class='page-head'>
        <h1 tabIndex={-1}>Viewer {session && <StatusBadge status={session.state} label={session.isAuthorizing() ? 'waiting for consent' : session.state} />}</h1>
        <div class='row'>
          <ButtonLink small href={href(`/sessions/${encodeURIComponent(id)}`)}>Details</ButtonLink>
        </div>
      </div>
      <div class='row' role='toolbar' aria-label='Agent tools' style={{ marginBottom: 'var(--t-space-2)' }}>
        {TOOLS.map((t) => (
          <Button key={t.tool} small variant={(tool ?? 'control') === t.tool ? 'primary' : 'default'} aria-pressed={(tool ?? 'control') === t.tool}
            disabled={!usable} onClick={() => act(async () => { await ctx?.setTool(t.tool); setToolState(t.tool) })}>{t.label}</Button>
        ))}
        <Button small disabled={!usable} onClick={() => act(async () => { await ctx?.clearAnnotations() })}>Clear drawings</Button>
        <Button small aria-pressed={session?.remote_control === 'on'} disabled={!usable || !control.next}
          onClick={() => act(async () => { if (control.next) await ctx?.setRemoteControl(control.next) })}>{control.label}</Button>
        <Button small variant='danger' disabled={!live} onClick={() => act(async () => { if (ctx?.session) await ctx.endSession(); else await session?.end(); toast('Session ended') })}>End session</Button>
      </div>
      <iframe ref={frame} class='viewer-frame' title="The customer's page (viewer)" src={`/session/${encodeURIComponent(id)}?agent_tools=none&session_actions=none`}
        allow='clipboard-write' />
    </section>
  )
}
