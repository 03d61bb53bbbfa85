// Keys (administrators): the public keys the account's JWTs are verified with. Generate (the
// private key is shown once, to copy or download), upload a PEM public key or a JWKS, revoke.
import type { GeneratedKeyResource, KeyResource, KeyUpload } from '@tandem/agent'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem, useLoad } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { ago, when } from '../lib/format.ts'
import { useMe } from '../session.ts'
import { Button, Dialog, Empty, ErrorState, Input, Loading, TextArea, toast } from '../ui/index.ts'

/** What the upload field holds: a JWKS (JSON with `keys`) or a PEM public key; or an error. */
export function parseUpload (text: string, kid: string): { upload: KeyUpload | null, error: string | null } {
  const t = text.trim()
  if (t === '') return { upload: null, error: 'Paste a PEM public key or a JWKS' }
  if (t.startsWith('{')) {
    try {
      const jwks = JSON.parse(t) as { keys?: unknown }
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) return { upload: null, error: 'A JWKS is {"keys": [...]} with at least one key' }
      return { upload: { jwks: jwks as { keys: unknown[] } }, error: null }
    } catch {
      return { upload: null, error: 'This looks like JSON but does not parse' }
    }
  }
  if (/-----BEGIN (RSA )?PRIVATE KEY-----/.test(t)) return { upload: null, error: 'That is a private key: upload only the public half (-----BEGIN PUBLIC KEY-----)' }
  if (!/^-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+-----END (RSA )?PUBLIC KEY-----$/.test(t)) {
    return { upload: null, error: 'A PEM public key starts with -----BEGIN PUBLIC KEY----- and ends with -----END PUBLIC KEY-----' }
  }
  return { upload: kid.trim() ? { public_key: t, kid: kid.trim() } : { public_key: t }, error: null }
}

export function Keys (): JSX.Element {
  const me = useMe()
  const keys = useLoad((signal) => tandem.keys.list({ signal }), [me.login.account?.id])
  const [generated, setGenerated] = useState<GeneratedKeyResource | null>(null)
  const [uploading, setUploading] = useState(false)
  const [revoking, setRevoking] = useState<KeyResource | null>(null)
  const [busy, setBusy] = useState<string | null>(null)

  const generate = async (): Promise<void> => {
    setBusy('generate')
    try {
      setGenerated(await tandem.keys.generate())
      await keys.reload()
    } catch (e) {
      toast(describeError(e), 'error')
    } finally {
      setBusy(null)
    }
  }

  const revoke = async (key: KeyResource): Promise<void> => {
    setBusy('revoke')
    try {
      await tandem.keys.revoke(key.kid)
      setRevoking(null)
      toast(`Key ${key.kid} revoked: tokens signed with it are refused from now on`)
      await keys.reload()
    } catch (e) {
      toast(describeError(e), 'error')
    } finally {
      setBusy(null)
    }
  }

  return (
    <section>
      <div class='page-head'>
        <h1 tabIndex={-1}>Keys</h1>
        <div class='row'>
          <Button variant='primary' busy={busy === 'generate'} onClick={() => { void generate() }}>Generate a key pair</Button>
          <Button onClick={() => setUploading(true)}>Upload a public key</Button>
        </div>
      </div>
      <p class='t-muted'>Your helpdesk signs agents’ tokens (RS256 JWTs) with a private key; Tandem checks them with these public keys.</p>
      {keys.loading && <Loading />}
      {keys.error && <ErrorState text={keys.error} retry={() => { void keys.reload() }} />}
      {keys.data && keys.data.length === 0 && <Empty>No keys yet: generate one, or upload your own public key.</Empty>}
      {keys.data && keys.data.length > 0 && (
        <div class='t-card table-card'><table class='t-table' aria-label='Keys'>
          <thead><tr><th>Key id</th><th>Algorithm</th><th>Created</th><th>Last used</th><th><span class='t-sr-only'>Actions</span></th></tr></thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.kid} data-kid={k.kid}>
                <td data-label='Key id'><span class='t-mono'>{k.kid}</span></td>
                <td data-label='Algorithm'>{k.algorithm}</td>
                <td data-label='Created'>{when(k.created)}</td>
                <td data-label='Last used'>{k.last_used ? ago(k.last_used) : 'never'}</td>
                <td data-label=''><Button small variant='danger' aria-label={`Revoke key ${k.kid}`} onClick={() => setRevoking(k)}>Revoke</Button></td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      {generated && <Generated keyPair={generated} onClose={() => setGenerated(null)} />}
      {uploading && <Upload onClose={() => setUploading(false)} onDone={() => { setUploading(false); void keys.reload() }} />}
      <Dialog open={revoking !== null} title={`Revoke key ${revoking?.kid ?? ''}?`} onClose={() => setRevoking(null)}>
        <p>Every token signed with this key is refused from now on, including agents signed in with one now.</p>
        <div class='t-dialog__actions'>
          <Button onClick={() => setRevoking(null)}>Cancel</Button>
          <Button variant='danger' busy={busy === 'revoke'} onClick={() => { if (revoking) void revoke(revoking) }}>Revoke key</Button>
        </div>
      </Dialog>
    </section>
  )
}

function Generated ({ keyPair, onClose }: { keyPair: GeneratedKeyResource, onClose: () => void }): JSX.Element {
  const download = (): void => {
    const url = URL.createObjectURL(new Blob([keyPair.private_key], { type: 'application/x-pem-file' }))
    const a = document.createElement('a')
    a.href = url
    a.download = `tandem-${keyPair.kid}.pem`
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }
  const copy = (): void => {
    navigator.clipboard.writeText(keyPair.private_key).then(() => toast('Private key copied'), () => toast('Copying was refused by the browser; select the key and copy it', 'error'))
  }
  return (
    <Dialog open title='Your new private key' onClose={onClose}>
      <p><strong>This is the only time it is shown.</strong> Tandem keeps only the public half. Store it where your helpdesk signs tokens; key id <code>{keyPair.kid}</code>.</p>
      <TextArea label='Private key (PEM)' name='private-key' value={keyPair.private_key} onValue={() => {}} readOnly rows={8} />
      <div class='t-dialog__actions'>
        <Button onClick={copy}>Copy</Button>
        <Button onClick={download}>Download .pem</Button>
        <Button variant='primary' onClick={onClose}>I have saved it</Button>
      </div>
    </Dialog>
  )
}

function Upload ({ onClose, onDone }: { onClose: () => void, onDone: () => void }): JSX.Element {
  const [text, setText] = useState('')
  const [kid, setKid] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const { upload, error: problem } = parseUpload(text, kid)
    setError(problem)
    if (!upload) return
    setBusy(true)
    try {
      const added = await tandem.keys.upload(upload)
      toast(`Added ${added.length === 1 ? `key ${added[0].kid}` : `${added.length} keys`}`)
      onDone()
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog open title='Upload a public key' onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextArea label='PEM public key or JWKS' name='public-key' value={text} onValue={setText} error={error} rows={8}
          hint='-----BEGIN PUBLIC KEY----- … or {"keys": [...]}' />
        <Input label='Key id (optional)' name='kid' value={kid} onValue={setKid} hint='For a PEM key; JWKS keys carry their own kid.' />
        <div class='t-dialog__actions'>
          <Button onClick={onClose}>Cancel</Button>
          <Button type='submit' variant='primary' busy={busy}>Upload</Button>
        </div>
      </form>
    </Dialog>
  )
}
