// Account settings (administrators): every setting the server has, as validated forms. Saved
// settings reach live customers at once.
import type { Account, AccountSettings } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { codeMinutesError, lines, originsError, selectorsError } from '../lib/validate.ts'
import { href } from '../router.ts'
import { useMe } from '../session.ts'
import { Button, Checkbox, ErrorState, Input, Loading, TextArea, toast } from '../ui/index.ts'

interface Form {
  name: string
  trusted: string
  assets: string
  navigation: string
  redaction: string
  unredaction: string
  consent: boolean
  controlConsent: boolean
  submit: boolean
  codeMinutes: string
  visitorKey: string
}

function toForm (a: Account): Form {
  const s = (a.settings ?? {}) as Partial<AccountSettings>
  return {
    name: a.name ?? '',
    trusted: (s.trusted_origins ?? a.trusted_origins).join('\n'),
    assets: (s.asset_origins ?? []).join('\n'),
    navigation: (s.navigation_origins ?? []).join('\n'),
    redaction: (s.redaction_selectors ?? []).join('\n'),
    unredaction: (s.unredaction_selectors ?? []).join('\n'),
    consent: s.require_consent ?? true,
    controlConsent: s.remote_control_consent ?? true,
    submit: s.agent_submit ?? false,
    codeMinutes: String(Math.round((s.code_expiry_secs ?? 1200) / 60)),
    visitorKey: s.visitor_id_key ?? ''
  }
}

type Errors = Partial<Record<keyof Form, string | null>>

/** Every problem in the form, by field. */
export function validate (f: Form, selectorOk?: (s: string) => boolean): Errors {
  const errors: Errors = {
    name: f.name.trim() === '' ? 'The account needs a name' : null,
    trusted: originsError(f.trusted),
    assets: originsError(f.assets),
    navigation: originsError(f.navigation),
    redaction: selectorsError(f.redaction, selectorOk),
    unredaction: selectorsError(f.unredaction, selectorOk),
    codeMinutes: codeMinutesError(f.codeMinutes),
    visitorKey: /^[A-Za-z0-9_-]{0,64}$/.test(f.visitorKey.trim()) ? null : 'A custom data key: up to 64 letters, digits, - or _ (empty for none)'
  }
  return Object.fromEntries(Object.entries(errors).filter(([, v]) => v)) as Errors
}

/** The PATCH body for the form. */
export function toPatch (f: Form): { name: string, settings: Partial<AccountSettings> } {
  return {
    name: f.name.trim(),
    settings: {
      trusted_origins: lines(f.trusted),
      asset_origins: lines(f.assets),
      navigation_origins: lines(f.navigation),
      redaction_selectors: lines(f.redaction),
      unredaction_selectors: lines(f.unredaction),
      require_consent: f.consent,
      remote_control_consent: f.controlConsent,
      agent_submit: f.submit,
      code_expiry_secs: Number(f.codeMinutes) * 60,
      visitor_id_key: f.visitorKey.trim()
    }
  }
}

export function Settings (): JSX.Element {
  const me = useMe()
  const account = useLoad(async (signal) => {
    const list = await tandem.accounts.list(undefined, { signal })
    return list.find((a) => a.id === me.login.account?.id) ?? list[0]
  }, [me.login.account?.id])
  const [form, setForm] = useState<Form | null>(null)
  const [errors, setErrors] = useState<Errors>({})
  const [busy, setBusy] = useState(false)
  const [showKey, setShowKey] = useState(false)

  useEffect(() => { if (account.data) setForm(toForm(account.data)) }, [account.data])

  if (account.loading) return <section><h1 tabIndex={-1}>Settings</h1><Loading /></section>
  if (!account.data || !form) return <section><h1 tabIndex={-1}>Settings</h1><ErrorState text={account.error ?? 'No account'} retry={() => { void account.reload() }} /></section>
  const a = account.data
  const set = <K extends keyof Form>(key: K) => (value: Form[K]) => setForm({ ...form, [key]: value })

  const save = async (e: Event): Promise<void> => {
    e.preventDefault()
    const problems = validate(form)
    setErrors(problems)
    if (Object.keys(problems).length) {
      toast('Some settings need fixing: see the messages under them', 'error')
      const first = document.querySelector<HTMLElement>('[aria-invalid="true"]')
      first?.focus()
      return
    }
    setBusy(true)
    try {
      const updated = await tandem.accounts.update(a.id, toPatch(form))
      account.setData(updated)
      toast('Saved. Customers on a page now get the new settings at once.')
      await me.refresh()
    } catch (err) {
      toast(describeError(err), 'error')
    } finally {
      setBusy(false)
    }
  }

  const copy = (): void => {
    navigator.clipboard.writeText(a.license_key).then(() => toast('License key copied'), () => toast('Copying was refused by the browser; select the key and copy it', 'error'))
  }

  return (
    <section>
      <h1 tabIndex={-1}>Settings</h1>
      <form onSubmit={save} noValidate aria-label='Account settings'>
        <div class='t-card'>
          <h2>Account</h2>
          <Input label='Name' name='name' value={form.name} onValue={set('name')} error={errors.name} />
          <div class='t-field'>
            <span class='t-label' id='license-label'>License key</span>
            <div class='row'>
              <span class='secret' aria-labelledby='license-label' data-testid='license-key'>{showKey ? a.license_key : '•'.repeat(Math.min(24, a.license_key.length))}</span>
              <Button small onClick={() => setShowKey(!showKey)} aria-pressed={showKey}>{showKey ? 'Hide' : 'Show'}</Button>
              <Button small onClick={copy}>Copy</Button>
            </div>
            <div class='t-field__hint'>Pages send it to identify the account: <code>Tandem.init({'{'} license {'}'})</code>. It is not a secret, but it ties devices to this account.</div>
          </div>
        </div>

        <div class='t-card'>
          <h2>Sign-in</h2>
          <p class='t-muted'>Members sign in with emailed links, or through your identity provider with SAML single sign-on.</p>
          <a href={href('/settings/sso')}>Single sign-on settings</a>
        </div>

        <div class='t-card'>
          <h2>Consent</h2>
          <Checkbox label='Ask the customer before a session starts' hint='The customer accepts on their page before the agent sees anything.'
            checked={form.consent} onChecked={set('consent')} />
          <Checkbox label='Ask the customer before an agent takes control' hint='Otherwise remote control starts as soon as the agent asks.'
            checked={form.controlConsent} onChecked={set('controlConsent')} />
          <Checkbox label='Agents in control may submit forms' hint='The customer can always submit their own forms.'
            checked={form.submit} onChecked={set('submit')} />
          <Input label='Code lifetime (minutes)' name='code-minutes' inputMode='numeric' value={form.codeMinutes} onValue={set('codeMinutes')}
            error={errors.codeMinutes} hint='How long a 6-digit code the customer reads out stays usable.' />
        </div>

        <div class='t-card'>
          <h2>Privacy</h2>
          <TextArea label='Redaction selectors' name='redaction' value={form.redaction} onValue={set('redaction')} error={errors.redaction}
            hint='CSS selectors, one a line: what they match is hidden from agents, in the customer’s browser. Password fields always are.' />
          <TextArea label='Unredaction selectors' name='unredaction' value={form.unredaction} onValue={set('unredaction')} error={errors.unredaction}
            hint='CSS selectors shown even inside a redacted element.' />
        </div>

        <div class='t-card'>
          <h2>Origins</h2>
          <TextArea label='Trusted origins' name='trusted' value={form.trusted} onValue={set('trusted')} error={errors.trusted}
            hint='Sites allowed to embed the viewer (helpdesks), one a line: https://desk.example or https://*.desk.example.' />
          <TextArea label='Asset origins' name='assets' value={form.assets} onValue={set('assets')} error={errors.assets}
            hint='Where the viewer may load the customer’s images, fonts and styles from.' />
          <TextArea label='Navigation origins' name='navigation' value={form.navigation} onValue={set('navigation')} error={errors.navigation}
            hint='Sites an agent may send the customer to, besides the site they are on.' />
        </div>

        <div class='t-card'>
          <h2>Visitor ids</h2>
          <Input label='Visitor id key' name='visitor-key' value={form.visitorKey} onValue={set('visitorKey')} error={errors.visitorKey}
            hint='The custom data key that holds a customer’s visitor id (user_id, say). A viewer opened with visitorid=<value>, as Glance’s, finds their session. Empty: not used.' />
        </div>

        <div class='row'>
          <Button type='submit' variant='primary' busy={busy}>Save settings</Button>
          <Button onClick={() => { setForm(toForm(a)); setErrors({}) }}>Discard changes</Button>
        </div>
      </form>
    </section>
  )
}
