// Opening a session by the 6-digit code the customer reads out, or a 9-digit session token.
import { APIError } from '@tandem/agent'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { tandem } from '../api.ts'
import { describeError } from '../lib/errors.ts'
import { parseCode } from '../lib/filters.ts'
import { navigate } from '../router.ts'
import { Button, Input } from '../ui/index.ts'

export function CodeEntry (): JSX.Element {
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const { code, error: problem } = parseCode(text)
    setError(problem)
    if (!code) return
    setBusy(true)
    try {
      const session = await tandem.sessions.get(code)
      navigate(`/sessions/${encodeURIComponent(session.id)}/view`)
    } catch (err) {
      setError(err instanceof APIError && err.id === 'not_found'
        ? `No live session has the ${code.length === 6 ? 'code' : 'token'} ${code}: check it with the customer (codes expire after a while; ask for a new one)`
        : describeError(err))
      setBusy(false)
    }
  }
  return (
    <section>
      <h1 tabIndex={-1}>Enter a code</h1>
      <div class='t-card' style={{ maxWidth: '480px' }}>
        <form onSubmit={submit} noValidate>
          <Input label='Code or session token' name='code' inputMode='numeric' autoComplete='off' placeholder='123 456'
            value={text} onValue={setText} error={error}
            hint='The 6 digits the customer reads to you (codes last 20 minutes), or the 9-digit token from a chat.' />
          <Button type='submit' variant='primary' busy={busy}>Open session</Button>
        </form>
      </div>
    </section>
  )
}
