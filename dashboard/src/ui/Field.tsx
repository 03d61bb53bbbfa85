import type { ComponentChildren, JSX } from 'preact'
import { useId } from 'preact/hooks'

interface FieldProps {
  label: string
  hint?: ComponentChildren
  error?: string | null
  /** Renders the control with the ids that tie it to its label, hint and error. */
  children: (ids: { id: string, describedBy: string | undefined, invalid: boolean }) => ComponentChildren
}

/** A labelled form control with an optional hint and error, announced by screen readers. */
export function Field ({ label, hint, error, children }: FieldProps): JSX.Element {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined
  return (
    <div class='t-field'>
      <label for={id}>{label}</label>
      {children({ id, describedBy, invalid: Boolean(error) })}
      {hint && <div class='t-field__hint' id={hintId}>{hint}</div>}
      {error && <div class='t-field__error' id={errorId} role='alert'>{error}</div>}
    </div>
  )
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput'> & {
  label: string
  hint?: ComponentChildren
  error?: string | null
  value: string
  onValue: (value: string) => void
}

export function Input ({ label, hint, error, value, onValue, ...rest }: InputProps): JSX.Element {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <input {...rest} id={id} class='t-input' value={value} aria-describedby={describedBy} aria-invalid={invalid}
          onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)} />
      )}
    </Field>
  )
}

type TextAreaProps = Omit<JSX.TextareaHTMLAttributes<HTMLTextAreaElement>, 'onInput'> & {
  label: string
  hint?: ComponentChildren
  error?: string | null
  value: string
  onValue: (value: string) => void
}

export function TextArea ({ label, hint, error, value, onValue, ...rest }: TextAreaProps): JSX.Element {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <textarea {...rest} id={id} class='t-textarea' value={value} aria-describedby={describedBy} aria-invalid={invalid}
          onInput={(e) => onValue((e.currentTarget as HTMLTextAreaElement).value)} />
      )}
    </Field>
  )
}

interface SelectProps {
  label: string
  name?: string
  value: string
  options: Array<{ value: string, label: string }>
  onValue: (value: string) => void
  hint?: ComponentChildren
}

export function Select ({ label, name, value, options, onValue, hint }: SelectProps): JSX.Element {
  return (
    <Field label={label} hint={hint}>
      {({ id, describedBy }) => (
        <select id={id} name={name} class='t-select' value={value} aria-describedby={describedBy}
          onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}>
          {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
        </select>
      )}
    </Field>
  )
}

interface CheckboxProps {
  label: string
  hint?: string
  checked: boolean
  onChecked: (checked: boolean) => void
}

export function Checkbox ({ label, hint, checked, onChecked }: CheckboxProps): JSX.Element {
  const id = useId()
  return (
    <div class='t-check'>
      <input type='checkbox' id={id} checked={checked} aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onChecked((e.currentTarget as HTMLInputElement).checked)} />
      <div>
        <label for={id} class='t-label'>{label}</label>
        {hint && <div class='t-field__hint' id={`${id}-hint`}>{hint}</div>}
      </div>
    </div>
  )
}
