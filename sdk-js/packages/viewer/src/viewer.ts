// The agent viewer. At /session/:id (or /agent#sid=<9-digit token>) it joins the session as the
// agent, opens the session's stream and replays the customer's page live with rrweb's Replayer,
// in a sandboxed frame the page's CSP also covers, with the agent's tools over it (tools.ts).
// Also /session/:id/history, /code and /connect. The token comes from `?token=` or, with
// `token_source=postMessage`, from the embedding page over the iframe bridge (bridge.ts); with
// neither, the page signs in with the dashboard's login cookie (and its CSRF token).
import { Replayer } from '@rrweb/replay'
import { APIError, CborSocket, Client, Close, doubling, socketUrl } from '@tandem/core'
import { Bridge } from './bridge.js'
import { Mirroring } from './fidelity.js'
import { Chunks } from './chunks.js'
import { relayFonts } from './fonts.js'
import { AgentTools } from './tools.js'

const statusEl = document.getElementById('status') as HTMLElement
const screen = document.getElementById('screen') as HTMLElement
const endButton = document.getElementById('end') as HTMLButtonElement
const leaveButton = document.getElementById('leave') as HTMLButtonElement
const latencyEl = document.getElementById('latency') as HTMLElement

/** The customer's viewport, scaled down to fit the agent's window (never up). */
let viewport = { width: 0, height: 0 }
function fit (): void {
  const wrapper = screen.querySelector('.replayer-wrapper') as HTMLElement | null
  if (!wrapper || !viewport.width) return
  const scale = Math.min(1, screen.clientWidth / viewport.width, screen.clientHeight / viewport.height)
  wrapper.style.transform = `scale(${scale})`
  wrapper.dataset.scale = String(scale)
}
window.addEventListener('resize', fit)

function status (text: string): void {
  statusEl.textContent = text
}

/** A failure shown to the agent, and told to the embedding page. */
function failed (id: string, text: string): void {
  status(text)
  bridge.send('error', { id, message: text })
}

const params = new URLSearchParams(location.search)
/** The agent's JWT: from `?token=`, or handed over by the embedding page (`token_source`). */
let token = params.get('token') ?? ''
const tokenFromParent = params.get('token_source') === 'postMessage'
/** Neither a token nor one to come: the dashboard's login cookie is the credential. */
const cookieMode = !token && !tokenFromParent
/** The login session's CSRF token, sent on calls that change anything (cookie mode). */
let csrf = ''
/** The embedding page, when there is one. */
const bridge = new Bridge()
// agent_tools=none, navigation=none, messages=none: the viewer's own controls for those go.
for (const [param, key] of [['agent_tools', 'agentTools'], ['navigation', 'navigation'], ['messages', 'messages']]) {
  if (params.get(param) === 'none') document.body.dataset[key] = 'none'
}
/** `/session/<id>`, or the agent page `/agent#sid=<9-digit token>` (a token from a chat). */
const sid = new URLSearchParams(location.hash.slice(1)).get('sid') ?? ''
const sessionId = sid || decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '')

/** REST calls as the agent, with the token this page holds now (the embedding page may renew it). */
const client = new Client({
  api: location.origin,
  retries: 0,
  headers: () => {
    const headers: Record<string, string> = {}
    if (token) headers.Authorization = `Bearer ${token}`
    if (csrf) headers['X-Tandem-CSRF'] = csrf
    return headers
  }
})

async function api<T = any> (method: string, path: string, body?: unknown): Promise<T> {
  return await client.request<T>(method, path, { body })
}

/** A link to the session's history, in the header. */
function historyLink (id: string): void {
  if (document.getElementById('history')) return
  const a = document.createElement('a')
  a.id = 'history'
  a.textContent = 'History'
  const query = carried()
  // The same session's page: the credential it was served under still holds.
  const view = params.get('view')
  if (view) query.set('view', view)
  a.href = `/session/${encodeURIComponent(id)}/history?${query}`
  // Embedded, the history replaces the viewer in its frame (a new tab would have no parent
  // to hand it the token).
  if (!tokenFromParent) {
    a.target = '_blank'
    a.rel = 'noopener'
  }
  latencyEl.after(a)
}

let replayer: Replayer | null = null
let ended = false
/** The agent's tools, once the session is joined. */
let tools: AgentTools | null = null
/** Sends on the session's stream while it is open. */
let sendOnStream: (event: string, data?: unknown) => void = () => {}

/**
 * What the agent sees over the screen while the customer's page is not there to see: how much
 * of a large page has arrived, or why it will not. `null` clears it.
 */
function screenMessage (text: string | null, kind: 'loading' | 'problem' = 'loading'): void {
  let el = document.getElementById('screen-message')
  if (text === null) {
    el?.remove()
    return
  }
  if (!el) {
    el = document.createElement('div')
    el.id = 'screen-message'
    el.setAttribute('role', 'status')
    screen.appendChild(el)
  }
  el.dataset.kind = kind
  el.textContent = text
}

function notice (text: string): void {
  (document.getElementById('notice') as HTMLElement).textContent = text
}

/** The replayer's clock: its live baseline plus the time its timer has run since. */
let baseline = 0
let timerStart = 0
const replayerNow = (): number => baseline + (performance.now() - timerStart)

/** Where the customer's fonts are relayed for the mirror (from the session's tokens). */
let assetUrl = ''

function onRrweb (event: any): void {
  relayFonts(event, assetUrl)
  if (!replayer) {
    // triggerFocus off: the customer's focus changes must not take the agent's keyboard focus.
    // The mirroring (fidelity.ts): selection, focus ring, canvases, placeholders, scroll offsets.
    const mirroring = new Mirroring()
    replayer = new Replayer([], { root: screen, liveMode: true, mouseTail: false, triggerFocus: false, ...mirroring.options() })
    mirroring.attach(replayer)
    // Named for assistive technology: the frame is the customer's page.
    replayer.iframe.title = "The customer's page"
    replayer.on('resize', (size: any) => {
      viewport = { width: size.width, height: size.height }
      bridge.send('screen', { width: size.width, height: size.height })
      fit()
    })
    baseline = Date.now()
    replayer.startLive(baseline)
    // Read after the timer starts, so an event stamped now is never ahead of the timer.
    timerStart = performance.now()
  }
  // Events are played as they arrive: stamped with the replayer's own clock, so neither the
  // customer's clock nor how late the first event came (the page's socket still connecting, a
  // catch-up from the server's replay) delays everything after it.
  replayer.addEvent({ ...event, timestamp: replayerNow() })
  // The replayer applies what is due on its next animation frame; run that check now, so a
  // change shows as soon as it arrives rather than up to a frame (or a throttled frame) later.
  ;(replayer as unknown as { timer?: { rafCheck?: () => void } }).timer?.rafCheck?.()
}

/** The newest session state applied (`updated`), so a late reply cannot undo a newer event. */
let lastUpdated = 0

function onSession (s: any): void {
  const updated = Date.parse(s.updated ?? '')
  if (Number.isFinite(updated)) {
    if (updated < lastUpdated) return
    lastUpdated = updated
  }
  current = s
  bridge.send('session', s)
  tools?.onSession(s)
  if (s.state === 'ended') {
    // The end is heard twice (the reply and the stream's event): act on it once.
    const first = !ended
    ended = true
    ;(document.getElementById('tools') as HTMLElement).hidden = true
    status(`Session ended (${s.ended_reason ?? 'ended'})`)
    endButton.disabled = true
    leaveButton.disabled = true
    historyLink(s.id)
    // end_action=code|dashboard: on to the next customer (default, `none`: stay here).
    const next = params.get('end_action')
    if (first && (next === 'code' || next === 'dashboard')) {
      // The dashboard signs in with its own cookie: no token goes into its URL.
      setTimeout(() => { location.href = next === 'code' ? `/code?${carried()}` : '/dashboard' }, 1500)
    }
  } else if (s.state === 'authorizing') {
    status('Waiting for the customer to accept…')
  } else if (s.state === 'active') {
    status('Connected')
  }
}

async function connect (): Promise<void> {
  let s = await api('GET', `/sessions/${encodeURIComponent(sessionId)}`)
  if (s.state === 'ended') return onSession(s)
  try {
    s = await api('PUT', `/sessions/${s.id}`, { agent: 'me' })
  } catch (e) {
    // The customer may have ended it in the meantime (declined, say).
    s = await api('GET', `/sessions/${s.id}`)
    if (s.state !== 'ended') throw e
  }
  if (tokenFromParent && !params.get('view') && s.state !== 'ended') {
    // This page was served before it held a credential, under a policy that lets no customer
    // asset in. Now that the parent has handed over the token, load the session's page again
    // under its account's policy, naming a stream token by its hash (the JWT stays out of URLs).
    const tokens = await api('GET', `/sessions/${s.id}/tokens`)
    const view = new URL(String(tokens.asset_url ?? ''), location.href).pathname.split('/')[2]
    if (view) {
      location.replace(`${sessionUrl(s.id)}&view=${encodeURIComponent(view)}`)
      return
    }
  }
  if (s.state !== 'ended') {
    tools = new AgentTools({
      screen,
      replayer: () => replayer,
      send: (event, data) => sendOnStream(event, data),
      setRemoteControl: async (to) => { onSession(await api('PUT', `/sessions/${s.id}`, { remote_control: to })) },
      notice
    })
    ;(document.getElementById('tools') as HTMLElement).hidden = false
  }
  onSession(s)
  if (s.state === 'ended') return
  historyLink(s.id)
  let left = false
  let probe: ReturnType<typeof setInterval> | undefined
  /** Part of the page was lost: ask the customer's page for all of it (at most every 5 s). */
  let askedAgain = 0
  const askAgain = (why = 'Part of the customer\'s page was lost on the way'): void => {
    screenMessage(`${why}; asking for it again…`, 'problem')
    if (Date.now() - askedAgain < 5000) return
    askedAgain = Date.now()
    sendOnStream('sync', { type: 'Sync', id: String(Math.random()) })
  }
  const chunks = new Chunks()
  /** The session's stream, opened with a fresh token each time; it reconnects (and catches up)
   * if it drops. */
  const stream = new CborSocket({
    endpoint: async () => {
      const tokens = await api('GET', `/sessions/${s.id}/tokens`)
      assetUrl = typeof tokens.asset_url === 'string' ? tokens.asset_url : ''
      return { url: socketUrl(new URL(tokens.stream_url, location.href)), token: tokens.stream_token }
    },
    delay: doubling(250, 10_000, false),
    final: [Close.SESSION_ENDED],
    onOpen: (reconnected) => {
      if (reconnected && !ended) status('Connected')
      chunks.reset()
      askedAgain = 0
      sendOnStream('sync', { type: 'Sync', id: String(Math.random()) })
      // Whatever changed before this socket was following the session (the customer accepting
      // while it connected, say) is read once; changes after it arrive as events.
      api('GET', `/sessions/${s.id}`).then(onSession).catch(() => {})
      // Round trips to the server, shown next to the status.
      const ping = (): void => sendOnStream('probe', { timestamp: Date.now() })
      ping()
      probe = setInterval(ping, 3000)
    },
    onRefused: (error) => {
      // Broke the wire rules (the relay should not have passed it): dropped, never acted on.
      // What it carried may have been part of the page, so the whole page is asked for again.
      console.error('Tandem: dropped a message that broke the wire rules', error)
      bridge.send('error', { id: 'frame_refused', message: 'A message that could not be read safely was dropped' })
      askAgain('A message that could not be read safely was dropped')
    },
    onFrame: (msg) => {
      if (msg.event !== 'chunk') return onStreamEvent(msg.event, msg.data)
      const taken = chunks.take(msg.data)
      if (taken?.kind === 'event') {
        if (taken.event === 'rrweb') screenMessage(null)
        onStreamEvent(taken.event, taken.data)
      } else if (taken?.kind === 'progress' && taken.event === 'rrweb') {
        screenMessage(`Loading the customer's page… ${Math.floor(taken.progress * 100)}%`)
      } else if (taken?.kind === 'lost' && taken.event === 'rrweb') {
        askAgain()
      }
    },
    onClose: (code) => {
      clearInterval(probe)
      latencyEl.textContent = ''
      if (ended || left) return stream.stop()
      if (code === Close.SESSION_ENDED) return status('Session ended')
      // Token expired (4002), server restart (1001), network: reconnect with a fresh token.
      status(`Reconnecting… (${code})`)
    },
    onFailure: (error) => {
      status(`Disconnected: ${(error as Error).message}`)
      return false
    }
  })
  sendOnStream = (event, data) => { if (stream.open) stream.send(event, data) }
  /** One event from the customer's side, whole (joined from its chunks, if it came in them). */
  const onStreamEvent = (event: string | undefined, data: any): void => {
    if (event === 'chunk-aborted' || event === 'stream-error') {
      // The customer's page, or the server, could not get (part of) the page here.
      chunks.reset()
      const id = String(data?.id ?? 'stream_error')
      if (id === 'invalid_chunk') return askAgain()
      const text = typeof data?.message === 'string' ? data.message : 'The customer\'s page could not be shared'
      screenMessage(text, 'problem')
      bridge.send('error', { id, message: text })
    }
    // A new snapshot of the page: whatever stood in for it goes.
    if (event === 'rrweb' && data?.type === 2) screenMessage(null)
    if (event === 'rrweb') {
      try {
        onRrweb(data)
      } catch (e) {
        // The replayer could not apply it: the agent is told, and the whole page is asked for.
        console.error('Tandem: could not show a change to the customer\'s page', e)
        bridge.send('error', { id: 'replay_failed', message: 'The customer\'s page could not be shown' })
        askAgain('The customer\'s page could not be shown')
      }
    }
    if (event === 'session') onSession(data)
    if (event === 'alive') {
      const rtt = Date.now() - data.timestamp
      latencyEl.textContent = `${rtt} ms`
      bridge.send('session.metrics', { rtt, latency: rtt / 2, last_alive: Date.now() })
    }
    if (event === 'control-refused' || event === 'navigation') tools?.onEvent(event, data)
    // The customer's page talks to the helpdesk page: its messages and navigation outcomes.
    if (event === 'message') bridge.send('message', data)
    if (event === 'navigation') bridge.send('navigation', data)
    if (event === 'error' && data?.id === 'remote_control_off') notice('Not done: the customer has not given you control')
  }

  await stream.connect()
  leaveButton.onclick = () => {
    // Leave without ending: the customer's session goes on for the other agents.
    left = true
    stream.stop()
    clearInterval(probe)
    latencyEl.textContent = ''
    status('You left the session; it goes on without you')
    endButton.disabled = true
    leaveButton.disabled = true
  }
  endButton.onclick = async () => {
    onSession(await api('PUT', `/sessions/${s.id}`, { state: 'ended' }))
  }
}

/**
 * The query for another page of the viewer: how this one got its token (never the token
 * itself when the embedding page handed it over) and its `end_action`.
 */
function carried (): URLSearchParams {
  const next = new URLSearchParams(tokenFromParent ? { token_source: 'postMessage' } : token ? { token } : {})
  const endAction = params.get('end_action')
  if (endAction) next.set('end_action', endAction)
  return next
}

/** The viewer's URL for a session. */
function sessionUrl (id: string): string {
  return `/session/${encodeURIComponent(id)}?${carried()}`
}

/** `/code`: the agent types the customer's 6-digit code and opens that session. */
function codeForm (): void {
  endButton.hidden = true
  leaveButton.hidden = true
  status('Enter the code the customer reads to you')
  const form = document.createElement('form')
  const input = document.createElement('input')
  input.id = 'code'
  input.inputMode = 'numeric'
  input.autocomplete = 'off'
  input.placeholder = '123 456'
  const open = document.createElement('button')
  open.id = 'open'
  open.type = 'submit'
  open.textContent = 'Open session'
  form.append(input, open)
  screen.appendChild(form)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const code = input.value.replace(/\s/g, '')
    if (!/^\d{6}$/.test(code)) return status('A code is six digits')
    api('GET', `/sessions/${code}`)
      .then((s) => { location.href = sessionUrl(s.id) })
      .catch(() => status('No session has that code (codes expire after 20 minutes)'))
  })
}

/**
 * `/connect?filter_<key>=<value>`: finds the customer's device by its custom data, opens a
 * session and asks the device to join; the customer is asked for consent on their page.
 */
async function connectDevice (): Promise<void> {
  endButton.hidden = true
  leaveButton.hidden = true
  const filters = new URLSearchParams()
  for (const [k, v] of params) if (k.startsWith('filter_')) filters.append(k, v)
  if ([...filters].length === 0) return status('Add filter_<key>=<value> to find the customer')
  filters.set('limit', '10')
  const devices: any[] = await api('GET', `/devices?${filters}`)
  const device = devices.find((d) => d.online)
  if (!device) return status(devices.length ? 'The customer is not online' : 'No customer matches')
  // The session carries the device's custom data, so it is found by the same filters.
  const s = await api('POST', '/sessions', { agent: 'me', custom_data: device.custom_data ?? {} })
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await api('POST', `/devices/${encodeURIComponent(device.id)}/notifications`, { session: s.id, attempt })
      location.href = sessionUrl(s.id)
      return
    } catch (e) {
      status(`Could not reach the customer (attempt ${attempt}): ${(e as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 4000))
    }
  }
}

/** A table of `rows` under a heading, every cell set as text (customer URLs are not markup). */
function table (heading: string, columns: string[], rows: string[][]): HTMLElement {
  const section = document.createElement('section')
  const h = document.createElement('h2')
  h.textContent = heading
  const t = document.createElement('table')
  const head = t.createTHead().insertRow()
  for (const c of columns) head.appendChild(document.createElement('th')).textContent = c
  const body = t.createTBody()
  for (const row of rows) {
    const tr = body.insertRow()
    for (const cell of row) tr.insertCell().textContent = cell
  }
  if (!rows.length) body.insertRow().insertCell().textContent = 'None'
  section.append(h, t)
  return section
}

function when (iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—'
}

function duration (secs: number | null | undefined): string {
  if (secs == null) return '—'
  const s = Math.round(secs)
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}

/** `/session/<id>/history`: the pages the customer visited and when agents joined and left. */
async function history (): Promise<void> {
  endButton.hidden = true
  leaveButton.hidden = true
  const h: any = await api('GET', `/sessions/${encodeURIComponent(sessionId)}/history`)
  screen.classList.add('history')
  screen.append(
    table('Pages visited', ['Page', 'Address', 'Entered', 'Time on page'],
      h.pages.map((p: any) => [p.title || '(untitled)', p.url, when(p.entered), duration(p.duration_secs)])),
    table('Agents', ['Agent', 'Joined', 'Left'],
      h.agents.map((a: any) => [a.agent?.name || a.agent?.email || a.agent?.id, when(a.joined), a.left ? when(a.left) : 'still here']))
  )
  status('Session history')
}

/**
 * `token_source=postMessage`: waits for the embedding page's token (it answers `init` with
 * one), and keeps it only if the account trusts the page's origin; newer tokens from that page
 * replace it.
 */
async function handshake (): Promise<void> {
  if (!bridge.embedded) throw new Error('token_source=postMessage needs an embedding page')
  const handed = await bridge.token()
  token = handed.token
  const accounts: any[] = await api('GET', '/accounts')
  if (!bridge.allow(accounts[0]?.trusted_origins ?? [])) {
    token = ''
    throw new Error(`${handed.origin} may not embed this account's viewer`)
  }
  bridge.onFreshToken = (fresh) => { token = fresh }
}

/** The session this page has open, for the embedding page's requests. */
let current: any = null

function openSession (): any {
  if (!current) throw new APIError('no session is open in this viewer', { id: 'no_session' })
  return current
}

function agentTools (): AgentTools {
  if (!tools) throw new APIError('the agent tools are available once a session is joined', { id: 'no_session' })
  return tools
}

/** What the embedding page may ask of the viewer (`rpc:request`), once trusted. */
function answerBridge (): void {
  bridge.handle('update:tool', (d) => agentTools().setTool(d?.tool))
  bridge.handle('update:colour', (d) => agentTools().setColour(String(d?.colour ?? '')))
  bridge.handle('update:drawing', (d) => {
    if (d?.drawing !== null) throw new APIError('only {drawing: null} (clear) is supported', { id: 'invalid_request' })
    agentTools().clear()
  })
  bridge.handle('update:session', async (d) => {
    const patch: Record<string, unknown> = {}
    for (const key of ['state', 'full_device', 'remote_control']) if (d?.[key] !== undefined) patch[key] = d[key]
    const s = await api('PUT', `/sessions/${encodeURIComponent(openSession().id)}`, patch)
    onSession(s)
    return s
  })
  bridge.handle('create:session', async () => {
    const s = await api('POST', '/sessions', {})
    setTimeout(() => { location.href = sessionUrl(s.id) }, 0)
    return s
  })
  bridge.handle('create:control', (d) => {
    if (d?.state === 'keydown' && d?.key === 'GoBack') return agentTools().navigate('back')
    throw new APIError(`${String(d?.key)} is not a key a web page has`, { id: 'unsupported' })
  })
  bridge.handle('create:message', (d) => {
    if (typeof d?.name !== 'string' || !d.name) throw new APIError('a message needs a name', { id: 'invalid_request' })
    openSession()
    sendOnStream('message', { name: d.name, payload: d.payload ?? null })
  })
  bridge.handle('create:navigation', (d) => {
    const action = d?.action
    if (!['back', 'forward', 'refresh', 'url'].includes(action)) {
      throw new APIError('navigation is back, forward, refresh or url', { id: 'invalid_request' })
    }
    if (action === 'url' && typeof d?.url !== 'string') throw new APIError('navigation to a url needs the url', { id: 'invalid_request' })
    agentTools().navigate(action, d?.url)
  })
  bridge.handle('get:user', async (d) => {
    const me = await api('GET', '/users/me')
    if (d?.id && d.id !== 'me' && d.id !== me.id) throw new APIError('only the signed-in agent can be read here', { id: 'not_found' })
    return me
  })
}

/**
 * Cookie mode: reads the dashboard's sign-in for its CSRF token. Resolves false (having said
 * why, with a link to sign in) when the browser is not signed in or has no account selected.
 */
async function signIn (): Promise<boolean> {
  let session: any
  try {
    session = await api('GET', '/login/session')
  } catch (e) {
    if (e instanceof APIError && e.id === 'not_signed_in') {
      notSignedIn('You are not signed in to Tandem.')
      return false
    }
    throw e
  }
  csrf = String(session?.csrf_token ?? '')
  if (!session?.account) {
    notSignedIn('Pick an account in the dashboard first.')
    return false
  }
  return true
}

/** Says why nothing can be shown, with a link to the dashboard's sign-in. */
function notSignedIn (text: string): void {
  endButton.hidden = true
  leaveButton.hidden = true
  failed('not_signed_in', text)
  const a = document.createElement('a')
  a.id = 'sign-in'
  a.textContent = 'Sign in'
  a.href = `/dashboard/login?next=${encodeURIComponent(location.pathname + location.search)}`
  // Embedded, the sign-in opens in its own tab.
  if (bridge.embedded) a.target = '_blank'
  statusEl.after(a)
}

async function main (): Promise<void> {
  answerBridge()
  if (tokenFromParent) {
    status('Waiting for the embedding page…')
    await handshake()
  } else if (cookieMode) {
    if (!await signIn()) return
    // The dashboard embeds the viewer from this same origin, which is always trusted.
    if (bridge.embedded) api('GET', '/accounts').then((a: any[]) => bridge.allow(a[0]?.trusted_origins ?? [])).catch(() => bridge.allow([]))
  } else if (bridge.embedded && token) {
    api('GET', '/accounts').then((a: any[]) => bridge.allow(a[0]?.trusted_origins ?? [])).catch(() => {})
  }
  const route = location.pathname.replace(/\/$/, '')
  if (/^\/session\/[^/]+\/history$/.test(route)) {
    history().catch((e) => status(`Could not load the history: ${(e as Error).message}`))
  } else if (route === '/agent' && !/^\d{9}$/.test(sid)) {
    endButton.hidden = true
    leaveButton.hidden = true
    status('Open this page with #sid=<the 9-digit session token>')
  } else if (route === '/code') {
    codeForm()
  } else if (route === '/connect') {
    connectDevice().catch((e) => failed('connect_failed', `Could not connect: ${(e as Error).message}`))
  } else {
    connect().catch(async (e) => {
      // The session may have ended while we were joining it (the customer declined, say).
      const s = await api('GET', `/sessions/${encodeURIComponent(sessionId)}`).catch(() => null)
      if (s?.state === 'ended') onSession(s)
      else failed('session_unavailable', `Could not open the session: ${(e as Error).message}`)
    })
  }
}

main().catch((e) => {
  endButton.hidden = true
  leaveButton.hidden = true
  failed('start_failed', `Could not start: ${(e as Error).message}`)
})
