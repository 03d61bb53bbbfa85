// The viewer embedded in the console: /session/<id> in an iframe (the same origin, so it signs in
// with the same cookie), driven with `tandem.attachContext`: tools, remote control, end.
import type { RemoteContext, Session, Tool } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { href } from '../router.ts'
import { Button, ButtonLink, StatusBadge, toast } from '../ui/index.ts'

const TOOLS: Array<{ tool: Tool, label: string }> = [
  { tool: 'laser', label: 'Laser' },
  { tool: 'drawing', label: 'Draw' },
  { tool: 'control', label: 'Control' }
]

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
          <Button key={t.tool} small variant={tool === t.tool ? 'primary' : 'default'} aria-pressed={tool === t.tool}
            disabled={!ctx || !session?.isActive()} onClick={() => act(async () => { await ctx?.setTool(t.tool); setToolState(t.tool) })}>{t.label}</Button>
        ))}
        <Button small disabled={!ctx || !session?.isActive()} onClick={() => act(async () => { await ctx?.clearAnnotations() })}>Clear drawings</Button>
        <Button small disabled={!ctx || !session?.isActive()} onClick={() => act(async () => { await ctx?.setRemoteControl('requested') })}>Request control</Button>
        <Button small variant='danger' disabled={!live} onClick={() => act(async () => { if (ctx?.session) await ctx.endSession(); else await session?.end(); toast('Session ended') })}>End session</Button>
      </div>
      <iframe ref={frame} class='viewer-frame' title="The customer's page (viewer)" src={`/session/${encodeURIComponent(id)}?agent_tools=none`}
        allow='clipboard-write' />
    </section>
  )
}
