// Single sign-on (administrators): SAML 2.0 with the account's identity provider. The values to
// register Tandem at the IdP, the IdP itself (its metadata, or entity id, sign-in URL and one or
// two signing certificates), the attributes read from its assertions, groups mapped to roles,
// just-in-time members and the sign-in rules. Saved as a whole; removed with a confirmation.
import { APIError, type Role, type SsoCertificate, type SsoResource, type SsoUpdate } from '@tandem/agent'
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { when } from '../lib/format.ts'
import { certificateError, domainsError, httpUrlError, listItems, metadataError, toPem } from '../lib/validate.ts'
import { useMe } from '../session.ts'
import { Button, Checkbox, Dialog, ErrorState, Input, Loading, Select, StatusBadge, TextArea, toast } from '../ui/index.ts'

export interface GroupRow { key: number, group: string, role: Role }

export interface SsoForm {
  /** How the IdP is described: its metadata XML, or its fields typed in. */
  mode: 'metadata' | 'manual'
  metadata: string
  entityId: string
  ssoUrl: string
  cert1: string
  cert2: string
  emailAttribute: string
  nameAttribute: string
  groupsAttribute: string
  groups: GroupRow[]
  jit: boolean
  defaultRole: Role
  requireSso: boolean
  idpInitiated: boolean
  domains: string
}

type Errors = Partial<Record<keyof SsoForm, string | null>>

const ROLES: Array<{ value: Role, label: string }> = [
  { value: 'agent', label: 'Agent' },
  { value: 'administrator', label: 'Administrator' }
]

let rowKeys = 0
function row (group = '', role: Role = 'agent'): GroupRow {
  return { key: ++rowKeys, group, role }
}

/** The form for what the server has: typed-in fields once set up, the metadata box before. */
export function toForm (sso: SsoResource): SsoForm {
  const c = sso.config
  return {
    mode: c ? 'manual' : 'metadata',
    metadata: '',
    entityId: c?.idp_entity_id ?? '',
    ssoUrl: c?.idp_sso_url ?? '',
    cert1: c?.idp_certificates[0] ?? '',
    cert2: c?.idp_certificates[1] ?? '',
    emailAttribute: c?.email_attribute ?? '',
    nameAttribute: c?.name_attribute ?? '',
    groupsAttribute: c?.groups_attribute ?? '',
    groups: (c?.group_roles ?? []).map((g) => row(g.group, g.role)),
    jit: c?.jit ?? true,
    defaultRole: c?.default_role ?? 'agent',
    requireSso: c?.require_sso ?? false,
    idpInitiated: c?.idp_initiated ?? false,
    domains: (c?.email_domains ?? []).join('\n')
  }
}

/** Every problem in the form, by field. */
export function validate (f: SsoForm): Errors {
  const errors: Errors = {}
  if (f.mode === 'metadata') {
    errors.metadata = metadataError(f.metadata)
  } else {
    if (f.entityId.trim() === '') errors.entityId = 'The identity provider’s entity ID is required (often its metadata URL)'
    errors.ssoUrl = httpUrlError(f.ssoUrl, 'The sign-in URL')
    errors.cert1 = f.cert1.trim() === '' && f.cert2.trim() === '' ? 'Paste the certificate the identity provider signs with' : certificateError(f.cert1)
    errors.cert2 = certificateError(f.cert2)
  }
  const named = f.groups.map((g) => g.group.trim())
  if (named.some((g) => g === '')) errors.groups = 'Name each group, or remove its row'
  else if (new Set(named).size !== named.length) errors.groups = `"${named.find((g, i) => named.indexOf(g) !== i) ?? ''}" is mapped twice`
  else if (named.length > 0 && f.groupsAttribute.trim() === '') errors.groupsAttribute = 'Name the attribute that carries the groups, or remove the group rows'
  errors.domains = domainsError(f.domains)
  return Object.fromEntries(Object.entries(errors).filter(([, v]) => v)) as Errors
}

/** The PUT body for the form (a valid one). */
export function toUpdate (f: SsoForm): SsoUpdate {
  const rest = {
    email_attribute: f.emailAttribute.trim(),
    name_attribute: f.nameAttribute.trim(),
    groups_attribute: f.groupsAttribute.trim(),
    group_roles: f.groups.map((g) => ({ group: g.group.trim(), role: g.role })),
    jit: f.jit,
    default_role: f.defaultRole,
    require_sso: f.requireSso,
    idp_initiated: f.idpInitiated,
    email_domains: [...new Set(listItems(f.domains).map((d) => d.toLowerCase()))]
  }
  if (f.mode === 'metadata') return { ...rest, metadata_xml: f.metadata.trim() }
  const certificates = [f.cert1, f.cert2].filter((c) => c.trim() !== '').map((c) => toPem(c) ?? c.trim())
  return { ...rest, idp_entity_id: f.entityId.trim(), idp_sso_url: f.ssoUrl.trim(), idp_certificates: certificates }
}

const SERVER_FIELDS: Record<string, keyof SsoForm> = {
  idp_entity_id: 'entityId',
  idp_sso_url: 'ssoUrl',
  idp_certificates: 'cert1',
  metadata_xml: 'metadata',
  email_attribute: 'emailAttribute',
  name_attribute: 'nameAttribute',
  groups_attribute: 'groupsAttribute',
  group_roles: 'groups',
  default_role: 'defaultRole',
  email_domains: 'domains'
}

/** The form field a refusal names (`idp_sso_url: …`, `email_domains[1]: …`); with metadata, the
 * IdP's fields come from the metadata box. */
export function fieldOf (error: unknown, mode: SsoForm['mode']): keyof SsoForm | null {
  if (!(error instanceof APIError)) return null
  if (error.id === 'domain_taken') return 'domains'
  if (error.id !== 'invalid_sso') return null
  const m = /^([a-z_]+)(\[\d+\])?\s*:/.exec(error.message)
  const field = m ? SERVER_FIELDS[m[1]] : undefined
  if (!field) return null
  if (mode === 'metadata' && (field === 'entityId' || field === 'ssoUrl' || field === 'cert1')) return 'metadata'
  return field
}

/** A refusal said under its field: the server's message without the field's name. */
export function fieldMessage (error: unknown): string {
  // A message the server wrote (not the raw body of a reply without one).
  const own = error instanceof APIError && error.message !== '' && !error.message.startsWith('{') && error.message !== `HTTP ${error.status ?? ''}`
  const text = own
    ? error.message.replace(/^[a-z_]+(\[\d+\])?\s*:\s*/, '')
    : describeError(error).replace(/^Not saved: /, '')
  // A sentence starts with a capital; a name that starts one (a domain, an id) stays as it is.
  return /^[a-z]+(\s|$)/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text
}

export function Sso (): JSX.Element {
  const me = useMe()
  const sso = useLoad((signal) => tandem.sso.get({ signal }), [me.login.account?.id])
  const [form, setForm] = useState<SsoForm | null>(null)
  const [errors, setErrors] = useState<Errors>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [busy, setBusy] = useState<'save' | 'remove' | null>(null)
  const [removing, setRemoving] = useState(false)

  useEffect(() => { if (sso.data) setForm(toForm(sso.data)) }, [sso.data])

  const head = (status?: JSX.Element): JSX.Element => (
    <div class='page-head'>
      <h1 tabIndex={-1}>Single sign-on</h1>
      {status}
    </div>
  )
  if (sso.loading) return <section>{head()}<Loading text='Loading single sign-on…' /></section>
  if (!sso.data || !form) return <section>{head()}<ErrorState text={sso.error ?? 'Single sign-on could not be read'} retry={() => { void sso.reload() }} /></section>
  const data = sso.data
  const configured = data.configured && data.config !== null

  const set = <K extends keyof SsoForm>(key: K) => (value: SsoForm[K]) => {
    setForm({ ...form, [key]: value })
    setSaved(null)
  }
  const setRow = (key: number, change: Partial<GroupRow>): void => set('groups')(form.groups.map((g) => g.key === key ? { ...g, ...change } : g))
  const addRow = (): void => {
    const added = row()
    set('groups')([...form.groups, added])
    requestAnimationFrame(() => document.querySelector<HTMLInputElement>(`[name="group-${added.key}"]`)?.focus())
  }
  const removeRow = (key: number): void => {
    set('groups')(form.groups.filter((g) => g.key !== key))
    requestAnimationFrame(() => document.getElementById('add-group')?.focus())
  }

  const save = async (e: Event): Promise<void> => {
    e.preventDefault()
    const problems = validate(form)
    setErrors(problems)
    setFailure(null)
    setSaved(null)
    if (Object.keys(problems).length) {
      setFailure('Not saved: some fields need fixing, see the messages under them.')
      requestAnimationFrame(() => document.querySelector<HTMLElement>('form [aria-invalid="true"]')?.focus())
      return
    }
    setBusy('save')
    try {
      const updated = await tandem.sso.update(toUpdate(form))
      sso.setData(updated)
      setSaved(`Saved at ${new Date().toLocaleTimeString(undefined, { timeStyle: 'short' })}. Members can sign in with single sign-on${updated.config?.email_domains.length ? ` using an address at ${updated.config.email_domains.join(', ')}` : ' using the account ID'}.`)
    } catch (err) {
      const field = fieldOf(err, form.mode)
      setFailure(describeError(err))
      if (field) {
        setErrors({ [field]: fieldMessage(err) })
        requestAnimationFrame(() => document.querySelector<HTMLElement>('form [aria-invalid="true"]')?.focus())
      }
    } finally {
      setBusy(null)
    }
  }

  const remove = async (): Promise<void> => {
    setBusy('remove')
    try {
      await tandem.sso.remove()
      setRemoving(false)
      setSaved(null)
      setFailure(null)
      setErrors({})
      toast('Single sign-on removed: members sign in with emailed links again')
      await sso.reload()
    } catch (err) {
      setRemoving(false)
      setFailure(describeError(err))
    } finally {
      setBusy(null)
    }
  }

  return (
    <section>
      {head(<StatusBadge status={configured ? 'set-up' : 'not-set-up'} label={configured ? 'Set up' : 'Not set up'} tone={configured ? 'success' : 'neutral'} />)}
      <p class='t-muted'>Members sign in through your identity provider (Okta, Microsoft Entra ID, Google Workspace or any SAML 2.0 IdP) instead of emailed links.</p>
      {!configured && (
        <div class='notice'>
          <strong>Single sign-on is not set up.</strong> Register Tandem at your identity provider with the values below, then describe the identity provider here and save.
        </div>
      )}

      <div class='t-card'>
        <h2>Register Tandem at your identity provider</h2>
        <p class='t-muted'>Create a SAML application there with these values, or import Tandem’s metadata from its URL.</p>
        <dl class='sp-values'>
          <SpValue label='Entity ID (audience)' value={data.sp.entity_id} />
          <SpValue label='ACS URL (reply URL)' value={data.sp.acs_url} />
          <SpValue label='Metadata URL' value={data.sp.metadata_url} />
        </dl>
        <p class='t-field__hint'>The identity provider should send the email as the NameID (format emailAddress) or in an attribute named below.</p>
      </div>

      <form onSubmit={save} noValidate aria-label='Single sign-on settings'>
        <div class='t-card'>
          <h2>Identity provider</h2>
          <fieldset class='choice'>
            <legend class='t-label'>Describe it with</legend>
            <Radio name='mode' label='Its metadata XML' checked={form.mode === 'metadata'} onChecked={() => set('mode')('metadata')} />
            <Radio name='mode' label='Its entity ID, sign-in URL and certificates' checked={form.mode === 'manual'} onChecked={() => set('mode')('manual')} />
          </fieldset>
          {form.mode === 'metadata'
            ? (
              <TextArea label='IdP metadata XML' name='metadata' value={form.metadata} onValue={set('metadata')} error={errors.metadata} rows={8}
                hint={configured
                  ? 'Replaces the entity ID, sign-in URL and certificates below with the ones the metadata holds.'
                  : 'Download it from your identity provider (often “IdP metadata” or “Federation metadata XML”) and paste it whole. Tandem reads the entity ID, sign-in URL and signing certificate from it.'} />
              )
            : (
              <>
                <Input label='IdP entity ID' name='idp-entity-id' value={form.entityId} onValue={set('entityId')} error={errors.entityId}
                  autoComplete='off' spellcheck={false} hint='The issuer of its assertions, often a URL.' />
                <Input label='IdP sign-in URL' name='idp-sso-url' type='url' value={form.ssoUrl} onValue={set('ssoUrl')} error={errors.ssoUrl}
                  autoComplete='off' spellcheck={false} hint='Its single sign-on service (HTTP-Redirect binding).' />
                <TextArea label='Signing certificate' name='cert-1' value={form.cert1} onValue={set('cert1')} error={errors.cert1} rows={5}
                  spellcheck={false} hint='PEM: -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----.' />
                <TextArea label='Second signing certificate (optional)' name='cert-2' value={form.cert2} onValue={set('cert2')} error={errors.cert2} rows={5}
                  spellcheck={false} hint='For a rollover: add the identity provider’s new certificate here before it switches to it; responses signed with either are accepted. Remove the old one once it has switched.' />
              </>
              )}
          {configured && <Certificates list={data.certificates} />}
        </div>

        <div class='t-card'>
          <h2>Attributes</h2>
          <p class='t-muted'>The names of the attributes in the identity provider’s assertions.</p>
          <div class='grid3'>
            <Input label='Email attribute' name='email-attribute' value={form.emailAttribute} onValue={set('emailAttribute')} error={errors.emailAttribute}
              autoComplete='off' spellcheck={false} hint='Empty: the NameID is the email address.' />
            <Input label='Display name attribute' name='name-attribute' value={form.nameAttribute} onValue={set('nameAttribute')} error={errors.nameAttribute}
              autoComplete='off' spellcheck={false} hint='Empty: the email is shown instead.' />
            <Input label='Groups attribute' name='groups-attribute' value={form.groupsAttribute} onValue={set('groupsAttribute')} error={errors.groupsAttribute}
              autoComplete='off' spellcheck={false} hint='Needed to map groups to roles.' />
          </div>
        </div>

        <div class='t-card'>
          <h2>Roles</h2>
          <fieldset class='choice' aria-describedby='groups-hint'>
            <legend class='t-label'>Groups mapped to roles</legend>
            <p class='t-field__hint' id='groups-hint'>Members of a group listed here get its role when they sign in.</p>
            {form.groups.length === 0 && <p class='t-muted'>No groups mapped.</p>}
            <ul class='mapping'>
              {form.groups.map((g, i) => (
                <li key={g.key} class='mapping__row'>
                  <Input label={`Group ${i + 1}`} name={`group-${g.key}`} value={g.group} onValue={(v) => setRow(g.key, { group: v })}
                    autoComplete='off' spellcheck={false} error={errors.groups && g.group.trim() === '' ? 'Name the group, or remove this row' : null} />
                  <Select label={`Role for group ${i + 1}`} name={`role-${g.key}`} value={g.role} options={ROLES} onValue={(v) => setRow(g.key, { role: v as Role })} />
                  <Button small class='mapping__remove' aria-label={`Remove group ${i + 1}${g.group.trim() ? ` (${g.group.trim()})` : ''}`}
                    onClick={() => removeRow(g.key)}>Remove</Button>
                </li>
              ))}
            </ul>
            {errors.groups && !form.groups.some((g) => g.group.trim() === '') && <div class='t-field__error' role='alert'>{errors.groups}</div>}
            <Button small id='add-group' onClick={addRow}>Add a group</Button>
          </fieldset>
          <Checkbox label='Create members at their first sign-in (just in time)'
            hint='Otherwise only existing members and invited people can sign in with single sign-on.'
            checked={form.jit} onChecked={set('jit')} />
          {form.jit && (
            <div class='narrow'>
              <Select label='Role of members created at sign-in' name='default-role' value={form.defaultRole} options={ROLES}
                onValue={(v) => set('defaultRole')(v as Role)} hint='When none of their groups is mapped above.' />
            </div>
          )}
        </div>

        <div class='t-card'>
          <h2>Sign-in rules</h2>
          <Checkbox label='Require single sign-on'
            hint='Email sign-in links stop working for this account’s members: they sign in only through the identity provider.'
            checked={form.requireSso} onChecked={set('requireSso')} />
          <Checkbox label='Allow IdP-initiated sign-in'
            hint='Lets members start from the identity provider’s app list. Off by default: such a sign-in answers no request from Tandem, so a response captured or forced on a browser could sign it in as someone else.'
            checked={form.idpInitiated} onChecked={set('idpInitiated')} />
          <TextArea label='Email domains' name='domains' value={form.domains} onValue={set('domains')} error={errors.domains} rows={3}
            spellcheck={false} hint='Separated by commas or one a line, such as shop.example. On the sign-in page, addresses at these domains find this account; otherwise members type the account ID.' />
        </div>

        <div class='form-status'>
          {failure && <ErrorState text={failure} />}
          {saved && <p class='saved' role='status'>{saved}</p>}
        </div>
        <div class='row form-actions'>
          <Button type='submit' variant='primary' busy={busy === 'save'}>{configured ? 'Save single sign-on' : 'Set up single sign-on'}</Button>
          <Button onClick={() => { setForm(toForm(data)); setErrors({}); setFailure(null) }}>Discard changes</Button>
          {configured && <Button variant='danger' class='form-actions__end' onClick={() => setRemoving(true)}>Remove single sign-on</Button>}
        </div>
      </form>

      <Dialog open={removing} title='Remove single sign-on?' onClose={() => setRemoving(false)}>
        <p>Members can no longer sign in through the identity provider, and its settings here are deleted. Everyone signs in with emailed links again.</p>
        <div class='t-dialog__actions'>
          <Button onClick={() => setRemoving(false)}>Cancel</Button>
          <Button variant='danger' busy={busy === 'remove'} onClick={() => { void remove() }}>Remove single sign-on</Button>
        </div>
      </Dialog>
    </section>
  )
}

function SpValue ({ label, value }: { label: string, value: string }): JSX.Element {
  const copy = (): void => {
    const done = (): void => toast(`${label.replace(/ \(.*\)$/, '')} copied`)
    if (!navigator.clipboard) { toast('Copying is not available here; select the value and copy it', 'error'); return }
    navigator.clipboard.writeText(value).then(done, () => toast('Copying was refused by the browser; select the value and copy it', 'error'))
  }
  return (
    <div class='sp-values__item'>
      <dt class='t-label'>{label}</dt>
      <dd>
        <code class='secret'>{value}</code>
        <Button small aria-label={`Copy ${label.replace(/ \(.*\)$/, '')}`} onClick={copy}>Copy</Button>
      </dd>
    </div>
  )
}

function Radio ({ name, label, checked, onChecked }: { name: string, label: string, checked: boolean, onChecked: () => void }): JSX.Element {
  return (
    <label class='t-check radio'>
      <input type='radio' name={name} checked={checked} onChange={(e) => { if ((e.currentTarget as HTMLInputElement).checked) onChecked() }} />
      <span>{label}</span>
    </label>
  )
}

const DAY = 86_400_000

/** The configured certificates as the server reads them, with their expiry. */
function Certificates ({ list }: { list: SsoCertificate[] }): JSX.Element {
  const now = Date.now()
  return (
    <div class='certificates'>
      <h3>Certificates in use</h3>
      {list.length === 0
        ? <p class='t-muted'>None.</p>
        : (
          <table class='t-table' aria-label='Certificates in use'>
            <thead><tr><th>Subject</th><th>Expires</th><th>SHA-256 fingerprint</th></tr></thead>
            <tbody>
              {list.map((c) => {
                const left = new Date(c.not_after).getTime() - now
                return (
                  <tr key={c.sha256} data-sha256={c.sha256}>
                    <td data-label='Subject'>{c.subject}</td>
                    <td data-label='Expires'>
                      {when(c.not_after)}
                      {left < 0 ? <> <StatusBadge status='expired' label='expired' tone='danger' /></> : left < 30 * DAY ? <> <StatusBadge status='soon' label='expires soon' tone='warning' /></> : null}
                    </td>
                    <td data-label='SHA-256'><span class='t-mono'>{c.sha256}</span></td>
                  </tr>
                )
              })}
            </tbody>
          </table>
          )}
    </div>
  )
}
