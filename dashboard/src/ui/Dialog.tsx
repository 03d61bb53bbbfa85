import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useId, useRef } from 'preact/hooks'

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
      const before = document.activeElement as HTMLElement | null
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
