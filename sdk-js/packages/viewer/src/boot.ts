// viewer-boot.js: loaded in the viewer page's head, it starts the session page's first calls
// (join the session, then its stream token, then its stream) at once, while viewer.js is still
// loading and being parsed; viewer.ts takes their responses and the stream (prefetch.ts). The
// same calls, with the same credential, as viewer.ts makes: a page that would not make them (an
// embedded viewer waiting for its token, the history, the code form…) starts nothing.
import { bearerProtocols, socketUrl } from '@tandem/core'
import { address } from './address.js'
import { openSocket, start } from './prefetch.js'

// The join benchmark's step marks (sdk-js/bench/latency.mjs; @tandem/core's markJoin, which
// this small script does without).
performance.mark('tandem:viewer-boot')
const here = address(location)
// A call that fails is viewer.ts's to see, when it takes it. Each step is started before
// viewer.ts can see the answer to the one before (prefetch.ts's `next`), so that viewer.ts's
// own call always finds it started.
if (here.sessionPage && !here.tokenFromParent && here.sessionId) boot()

function boot (): void {
  const api = `${location.origin}/api/1`
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (here.token) headers.Authorization = `Bearer ${here.token}`
  if (!here.cookieMode) return join(api, headers)
  // viewer.ts signs in first: the login session's CSRF token goes on the join.
  start('GET', `${api}/login/session`, { headers: { ...headers } }, async (login) => {
    if (!login.ok) return
    const session = await login.json().catch(() => null)
    if (!session?.account) return
    join(api, { ...headers, 'X-Tandem-CSRF': String(session.csrf_token ?? '') })
  }).catch(() => {})
}

/** Joins the session, then gets its stream token, then opens its stream. */
function join (api: string, headers: Record<string, string>): void {
  start('PUT', `${api}/sessions/${encodeURIComponent(here.sessionId)}`, {
    headers: { ...headers },
    body: JSON.stringify({ agent: 'me' })
  }, async (joined) => {
    if (!joined.ok) return
    const s = await joined.json().catch(() => null)
    if (!s?.id || s.state === 'ended') return
    start('GET', `${api}/sessions/${s.id}/tokens`, { headers: { ...headers } }, async (tokens) => {
      if (!tokens.ok) return
      const t = await tokens.json().catch(() => null)
      if (typeof t?.stream_url !== 'string' || typeof t?.stream_token !== 'string') return
      // The stream, as viewer.ts's socket client opens it, asking for the page as it opens:
      // the relay's replay is on its way while viewer.js is still being parsed.
      openSocket(socketUrl(new URL(t.stream_url, location.href)), bearerProtocols(t.stream_token))
    }).catch(() => {})
  }).catch(() => {})
}
