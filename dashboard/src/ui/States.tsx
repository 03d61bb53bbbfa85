import type { ComponentChildren, JSX } from 'preact'

export function Loading ({ text = 'Loading…' }: { text?: string }): JSX.Element {
  return <div class='t-state' role='status'><span class='t-spinner' aria-hidden='true' />{text}</div>
}

export function Empty ({ children }: { children: ComponentChildren }): JSX.Element {
  return <div class='t-state'>{children}</div>
}

/** An error in words, with a retry when one makes sense. */
export function ErrorState ({ text, retry }: { text: string, retry?: () => void }): JSX.Element {
  return (
    <div class='t-state t-state--error' role='alert'>
      {text}
      {retry && <> <button type='button' class='t-button t-button--small' onClick={retry}>Try again</button></>}
    </div>
  )
}
