import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'

export interface Toast {
  id: number
  text: string
  kind: 'info' | 'error'
}

type Listener = (toasts: Toast[]) => void
let toasts: Toast[] = []
let next = 1
const listeners = new Set<Listener>()

function publish (): void {
  for (const l of listeners) l(toasts)
}

/** Shows a short message at the bottom of the screen (errors stay longer). */
export function toast (text: string, kind: Toast['kind'] = 'info'): void {
  const t = { id: next++, text, kind }
  toasts = [...toasts, t].slice(-4)
  publish()
  setTimeout(() => dismiss(t.id), kind === 'error' ? 10_000 : 4_000)
}

export function dismiss (id: number): void {
  toasts = toasts.filter((t) => t.id !== id)
  publish()
}

/** Where toasts appear; announced politely (errors assertively) to screen readers. */
export function Toasts (): JSX.Element {
  const [list, setList] = useState<Toast[]>(toasts)
  useEffect(() => {
    listeners.add(setList)
    return () => { listeners.delete(setList) }
  }, [])
  return (
    <div class='t-toasts' aria-live='polite'>
      {list.map((t) => (
        <div key={t.id} class={`t-toast t-toast--${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span>{t.text}</span>
          <button type='button' onClick={() => dismiss(t.id)}>Dismiss</button>
        </div>
      ))}
    </div>
  )
}
