import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useId, useRef } from 'preact/hooks'

/** The last element focused outside a dialog: where focus returns when the opener itself lost
 * focus meanwhile (a button disabled while its action ran). */
let lastFocused: HTMLElement | null = null
if (typeof document !== 'undefined') {
  document.addEventListener('focusin', (e) => {
    const el = e.target as HTMLElement
    if (!el.closest('dialog')) lastFocused = el
  })
}

interface DialogProps {
  open: boolean
  title: string
  onClose: () => void
  children: ComponentChildren
}

/**
 * A modal dialog on the native <dialog>: focus moves into it when it opens (to the first field,
 * or `autofocus`), stays inside while open, Escape closes it, and focus returns to what had it.
 */
export function Dialog ({ open, title, onClose, children }: DialogProps): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (open && !dialog.open) {
      const active = document.activeElement as HTMLElement | null
      const before = active && active !== document.body ? active : lastFocused
      dialog.showModal()
      const first = dialog.querySelector<HTMLElement>('[autofocus], input, textarea, select, button')
      first?.focus()
      return () => { if (dialog.open) dialog.close(); before?.focus() }
    }
    if (!open && dialog.open) dialog.close()
  }, [open])
  return (
    <dialog ref={ref} class='t-dialog' aria-labelledby={titleId}
      onCancel={(e) => { e.preventDefault(); onClose() }}>
      {open && (
        <div class='t-dialog__body'>
          <h2 id={titleId}>{title}</h2>
          {children}
        </div>
      )}
    </dialog>
  )
}
