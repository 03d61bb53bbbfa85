import type { ComponentChildren, JSX } from 'preact'

export type ButtonVariant = 'default' | 'primary' | 'danger' | 'ghost'

type Props = Omit<JSX.ButtonHTMLAttributes<HTMLButtonElement>, 'type'> & {
  variant?: ButtonVariant
  small?: boolean
  busy?: boolean
  type?: 'button' | 'submit'
  disabled?: boolean
  children?: ComponentChildren
}

/** A button; `busy` disables it and shows a spinner while an action runs. */
export function Button ({ variant = 'default', small, busy, type = 'button', disabled, children, class: extra, ...rest }: Props): JSX.Element {
  const cls = ['t-button', variant !== 'default' && `t-button--${variant}`, small && 't-button--small', extra].filter(Boolean).join(' ')
  return (
    <button {...rest} type={type} class={cls} disabled={disabled || busy} aria-busy={busy || undefined}>
      {busy && <span class='t-spinner' aria-hidden='true' />}
      {children}
    </button>
  )
}

/** A link styled as a button. */
export function ButtonLink ({ variant = 'default', small, children, class: extra, ...rest }: JSX.AnchorHTMLAttributes<HTMLAnchorElement> & { variant?: ButtonVariant, small?: boolean, href: string }): JSX.Element {
  const cls = ['t-button', variant !== 'default' && `t-button--${variant}`, small && 't-button--small', extra].filter(Boolean).join(' ')
  return <a {...rest} class={cls}>{children}</a>
}
