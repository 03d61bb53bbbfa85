// viewer-boot.js: loaded in the viewer page's head, it starts the session page's first calls
// (join the session, then its stream token) at once, while viewer.js is still loading and
// being parsed; viewer.ts takes their responses (prefetch.ts). The same calls, with the same
// credential, as viewer.ts makes: a page that would not make them (an embedded viewer waiting
// for its token, the history, the code form…) starts nothing.
import { address } from './address.js'
import { start } from './prefetch.js'

// The join benchmark's step marks (sdk-js/bench/latency.mjs; @tandem/core's markJoin, which
// this small script does without).
performance.mark('tandem:viewer-boot')
const here = address(location)
// A call that fails is viewer.ts's to see, when it takes it.
if (here.sessionPage && !here.tokenFromParent && here.sessionId) join().catch(() => {})

async function join (): Promise<void> {
  const api = `${location.origin}/api/1`
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (here.token) headers.Authorization = `Bearer ${here.token}`
  if (here.cookieMode) {
    // viewer.ts signs in first: the login session's CSRF token goes on the join.
    const login = await start('GET', `${api}/login/session`, { headers: { ...headers } })
    if (!login.ok) return
    const session = await login.clone().json().catch(() => null)
    if (!session?.account) return
    headers['X-Tandem-CSRF'] = String(session.csrf_token ?? '')
  }
  const joined = await start('PUT', `${api}/sessions/${encodeURIComponent(here.sessionId)}`, {
    headers: { ...headers },
    body: JSON.stringify({ agent: 'me' })
  })
  if (!joined.ok) return
  const s = await joined.clone().json().catch(() => null)
  if (!s?.id || s.state === 'ended') return
  start('GET', `${api}/sessions/${s.id}/tokens`, { headers: { ...headers } }).catch(() => {})
}
