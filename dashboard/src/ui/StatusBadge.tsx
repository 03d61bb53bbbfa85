import type { JSX } from 'preact'

export type Tone = 'neutral' | 'success' | 'warning' | 'danger' | 'info' | 'accent'

const TONES: Record<string, Tone> = {
  pending: 'info',
  authorizing: 'warning',
  active: 'success',
  ended: 'neutral',
  online: 'success',
  offline: 'neutral',
  disabled: 'danger',
  administrator: 'accent',
  agent: 'neutral'
}

/** A small coloured label for a state (`active`, `online`, `disabled`…); the text says it all. */
export function StatusBadge ({ status, label, tone }: { status: string, label?: string, tone?: Tone }): JSX.Element {
  const t = tone ?? TONES[status] ?? 'neutral'
  return <span class={`t-badge${t === 'neutral' ? '' : ` t-badge--${t}`}`}>{label ?? status}</span>
}
