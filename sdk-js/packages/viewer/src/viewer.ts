// The agent viewer. At /session/:id (or /agent#sid=<9-digit token>) it joins the session as the
// agent, opens the session's stream and replays the customer's page live with rrweb's Replayer,
// in a sandboxed frame the page's CSP also covers, with the agent's tools over it (tools.ts).
// Also /session/:id/history, /code, /connect and Glance's viewer URL (/session?ssncode=… or
// ?visitorid=…, glance.ts). The token comes from `?token=` or, with
// `token_source=postMessage`, from the embedding page over the iframe bridge (bridge.ts); with
// neither, the page signs in with the dashboard's login cookie (and its CSRF token).
import { Replayer } from '@rrweb/replay'
import { APIError, CborSocket, Client, Close, doubling, markJoin, socketUrl } from '@tandem/core'
import { Bridge } from './bridge.js'
import { Mirroring } from './fidelity.js'
import { Chunks } from './chunks.js'
import { Recording } from './unzip.js'
import { glanceKey, openByKey } from './glance.js'
import { Gestures } from './gestures.js'
import { relayFonts } from './fonts.js'
import { AgentTools } from './tools.js'
import { type Card, ENDS, States, type Step, endKind, lastSession, quality } from './states.js'
import { shortcuts } from './keys.js'
import { address } from './address.js'
import { prefetched, prefetchedSocket, tookSocket } from './prefetch.js'

// The steps of opening a session, for the join benchmark (sdk-js/bench/latency.mjs): this
// script running (after viewer-boot.js's mark), joined, the stream token, the stream open, the
// first recording frame, the snapshot decoded, and its first paint.
markJoin('viewer-script')

/** A compressed batch of the customer's recording (realtime/src/zipped.rs). */
const ZIPPED = 'rrweb-z'
/** A compressed batch of pointer moves only: read as `rrweb-z` is. */
const MOVES = 'rrweb-p'
/** Events that carry the customer's recording. */
const isRecording = (event: string): boolean => event === 'rrweb' || event === ZIPPED || event === MOVES

const screen = document.getElementById('screen') as HTMLElement
const stage = document.getElementById('stage') as HTMLElement
const endButton = document.getElementById('end') as HTMLButtonElement
const leaveButton = document.getElementById('leave') as HTMLButtonElement
const latencyEl = document.getElementById('latency') as HTMLElement
const fitButton = document.getElementById('fit') as HTMLButtonElement
const states = new States()

/**
 * The customer's viewport, scaled down to fit the agent's window (never up), or at 100% (the
 * stage scrolls). The frame's 1px border is outside the viewport's width (content-box), and
 * the scale counts it, so the customer's right edge is never cut off.
 */
let viewport = { width: 0, height: 0 }
let fitted = true
function fit (): void {
  const wrapper = screen.querySelector('.replayer-wrapper') as HTMLElement | null
  if (!wrapper || !viewport.width) return
  const scale = fitted ? Math.min(1, screen.clientWidth / (viewport.width + 2), screen.clientHeight / (viewport.height + 2)) : 1
  wrapper.style.transform = `scale(${scale})`
  wrapper.dataset.scale = String(scale)
  screen.classList.toggle('actual', !fitted)
  const glass = document.getElementById('glass')
  if (glass) {
    glass.style.width = fitted ? '' : `${viewport.width + 2}px`
    glass.style.height = fitted ? '' : `${viewport.height + 2}px`
  }
}
window.addEventListener('resize', fit)

/** Fit to the window, or 100%. */
function toggleFit (): void {
  fitted = !fitted
  fitButton.textContent = fitted ? 'Fit' : '100%'
  fitButton.dataset.mode = fitted ? 'fit' : 'actual'
  fitButton.setAttribute('aria-label', fitted ? 'Page size: fit to window (Z for 100%)' : 'Page size: 100% (Z to fit)')
  fit()
}
fitButton.dataset.mode = 'fit'
fitButton.removeAttribute('aria-pressed')
fitButton.setAttribute('aria-label', 'Page size: fit to window (Z for 100%)')
fitButton.addEventListener('click', toggleFit)

/** Full screen: the stage alone, with a way out (the button, or Escape). */
const fullscreenButton = document.getElementById('fullscreen') as HTMLButtonElement
function toggleFullscreen (): void {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {})
  else stage.requestFullscreen().catch((e) => notice(`Full screen is not available: ${(e as Error).message}`))
}
fullscreenButton.addEventListener('click', toggleFullscreen)
;(document.getElementById('exit-fullscreen') as HTMLButtonElement).addEventListener('click', toggleFullscreen)
document.addEventListener('fullscreenchange', () => {
  fullscreenButton.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen'
  fit()
})

/** The list of keyboard shortcuts. */
const helpButton = document.getElementById('help-button') as HTMLButtonElement
function toggleHelp (open = (document.getElementById('help') as HTMLElement).hidden): void {
  const help = document.getElementById('help') as HTMLElement
  help.hidden = !open
  helpButton.setAttribute('aria-expanded', String(open))
  if (open) (document.getElementById('help-close') as HTMLElement).focus()
  else if (help.contains(document.activeElement)) helpButton.focus()
}
helpButton.addEventListener('click', () => toggleHelp())
;(document.getElementById('help-close') as HTMLButtonElement).addEventListener('click', () => toggleHelp(false))

function status (text: string, phase: Parameters<States['show']>[0] = 'page', card: Card | null = null): void {
  states.show(phase, text, card)
}

/** A failure shown to the agent, and told to the embedding page. */
function failed (id: string, text: string, steps: Step[] = []): void {
  status(text, 'failed', { title: 'This session can\'t be opened', text, kind: 'problem', steps })
  bridge.send('error', { id, message: text })
}

const here = address(location)
const params = here.params
/** The agent's JWT: from `?token=`, or handed over by the embedding page (`token_source`). */
let token = here.token
const tokenFromParent = here.tokenFromParent
/** Neither a token nor one to come: the dashboard's login cookie is the credential. */
const cookieMode = here.cookieMode
/** The login session's CSRF token, sent on calls that change anything (cookie mode). */
let csrf = ''
/** The embedding page, when there is one. */
const bridge = new Bridge()
// agent_tools=none, navigation=none, messages=none, session_actions=none: the viewer's own
// controls for those go (the embedding page has its own).
for (const [param, key] of [['agent_tools', 'agentTools'], ['navigation', 'navigation'], ['messages', 'messages'], ['session_actions', 'sessionActions']]) {
  if (params.get(param) === 'none') document.body.dataset[key] = 'none'
}
/**
 * `/session/<id>`, or the agent page `/agent#sid=<9-digit token>` (a token from a chat), also at
 * Genesys's address `/cobrowse/slave.html#sid=<token>`.
 */
const sid = here.sid
const sessionId = here.sessionId

/** REST calls as the agent, with the token this page holds now (the embedding page may renew it). */
const client = new Client({
  api: location.origin,
  retries: 0,
  // The first calls may have been started by viewer-boot.js already (prefetch.ts).
  fetch: prefetched,
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
  ;(document.getElementById('links') as HTMLElement).append(a)
}

/** Where the agent can go once the session is over. */
function nextSteps (id: string): Step[] {
  const steps: Step[] = []
  if (cookieMode) {
    // Embedded in the console, the console itself moves on (not a console inside its frame).
    steps.push({ id: 'to-console', label: 'Back to the console', href: '/dashboard/sessions', primary: true, target: bridge.embedded ? '_top' : undefined })
  }
  steps.push(cookieMode && bridge.embedded
    ? { id: 'another-code', label: 'Enter another code', href: '/dashboard/code', target: '_top', primary: !steps.length }
    : { id: 'another-code', label: 'Enter another code', href: `/code?${carried()}`, primary: !steps.length })
  const query = carried()
  const view = params.get('view')
  if (view) query.set('view', view)
  steps.push({ id: 'view-history', label: 'View history', href: `/session/${encodeURIComponent(id)}/history?${query}`, target: tokenFromParent ? undefined : '_blank' })
  return steps
}

let replayer: Replayer | null = null
let ended = false
/** This viewer ended the session (so it says "you ended it"). */
let endedHere = false
/** The customer's page has been shown (a card stands in for it until then). */
let pageShown = false
/** The session's stream is open (the tools work only then). */
let streamOpen = false
/** The last page address the customer was on (without its #fragment). */
let lastHref = ''
/** The agent's tools, once the session is joined. */
let tools: AgentTools | null = null
/** Sends on the session's stream while it is open. */
let sendOnStream: (event: string, data?: unknown) => void = () => {}
/** The accessibility announcements the embedding page turns on (Glance's enableAccessibility). */
const gestures = new Gestures((event, data) => sendOnStream(event, data))
/** The tools tell the announcements where the agent gestures, while they are on. */
function applyGestures (): void {
  if (tools) tools.gesture = gestures.enabled ? (kind, id) => gestures.on(kind, id) : null
}

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

/** A transient notice over the stage: it fades out after a few seconds. */
let noticeTimers: Array<ReturnType<typeof setTimeout>> = []
function notice (text: string): void {
  const el = document.getElementById('notice') as HTMLElement
  for (const t of noticeTimers) clearTimeout(t)
  delete el.dataset.fading
  el.textContent = text
  noticeTimers = [
    setTimeout(() => { el.dataset.fading = '' }, 5000),
    setTimeout(() => { el.textContent = ''; delete el.dataset.fading }, 5500)
  ]
}

/** The replayer's clock: its live baseline plus the time its timer has run since. */
let baseline = 0
let timerStart = 0
const replayerNow = (): number => baseline + (performance.now() - timerStart)

/** Where the customer's fonts are relayed for the mirror (from the session's tokens). */
let assetUrl = ''

/** The replayer that mirrors the customer's page, live from now. */
function mirror (): Replayer {
  // triggerFocus off: the customer's focus changes must not take the agent's keyboard focus.
  // The mirroring (fidelity.ts): selection, focus ring, canvases, placeholders, scroll offsets.
  const mirroring = new Mirroring()
  const made = new Replayer([], { root: screen, liveMode: true, mouseTail: false, triggerFocus: false, ...mirroring.options() })
  mirroring.attach(made)
  // Named for assistive technology: the frame is the customer's page.
  made.iframe.title = "The customer's page"
  made.on('resize', (size: any) => {
    viewport = { width: size.width, height: size.height }
    bridge.send('screen', { width: size.width, height: size.height })
    fit()
  })
  baseline = Date.now()
  made.startLive(baseline)
  // Read after the timer starts, so an event stamped now is never ahead of the timer.
  timerStart = performance.now()
  return made
}

/**
 * Makes the replayer in the next task, ahead of the page's snapshot, once the session is active
 * and its stream is (being) opened: its frame is then ready while the snapshot is on its way.
 * Never before: a session the customer declines shows no frame at all. The card over the stage
 * hides the empty frame until the page is shown.
 */
function prepareMirror (): void {
  setTimeout(() => {
    if (!replayer && !ended && current?.state === 'active') replayer = mirror()
  }, 0)
}

/** Plays one event of the customer's recording, `delay` ms from now (unzip.ts). */
function onRrweb (event: any, delay = 0): void {
  relayFonts(event, assetUrl)
  // The customer's pointer is shown once its first position has come (rrweb parks it top-left).
  if (event?.type === 3 && [1, 2, 6].includes(event.data?.source)) screen.dataset.pointerSeen = ''
  // Another page: the drawings over the last one go (the customer's page clears its own).
  if (event?.type === 4 && typeof event.data?.href === 'string') {
    const href = event.data.href.split('#')[0]
    if (lastHref && href !== lastHref) tools?.pageChanged()
    lastHref = href
  }
  if (event?.type === 2 && !pageShown) {
    pageShown = true
    if (current?.state === 'active' && !ended) onSession(current)
  }
  replayer ??= mirror()
  // Events are played as they arrive: stamped with the replayer's own clock, so neither the
  // customer's clock nor how late the first event came (the page's socket still connecting, a
  // catch-up from the server's replay) delays everything after it.
  replayer.addEvent({ ...event, timestamp: replayerNow() + delay })
  // The replayer applies what is due on its next animation frame; run that check now, so a
  // change shows as soon as it arrives rather than up to a frame (or a throttled frame) later.
  ;(replayer as unknown as { timer?: { rafCheck?: () => void } }).timer?.rafCheck?.()
  // The frame that paints the first snapshot (sdk-js/bench/latency.mjs times joins by it).
  if (event?.type === 2) requestAnimationFrame(() => markJoin('first-paint'))
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
    const kind = endKind(s, endedHere)
    const end = ENDS[kind]
    status(end.status, kind === 'declined' ? 'declined' : 'ended', { title: end.title, text: end.text, steps: nextSteps(s.id) })
    endSessionActions()
    historyLink(s.id)
    // end_action=code|dashboard: on to the next customer (default, `none`: stay here).
    const next = params.get('end_action')
    if (first && (next === 'code' || next === 'dashboard')) {
      // The dashboard signs in with its own cookie: no token goes into its URL. The code page
      // says what happened to this session.
      const query = carried()
      query.set('last', kind)
      setTimeout(() => { location.href = next === 'code' ? `/code?${query}` : '/dashboard' }, 1500)
    }
  } else if (s.state === 'authorizing') {
    status('Waiting for the customer to accept…', 'waiting', {
      title: 'Waiting for the customer to accept',
      text: 'They are being asked to share this page with you. It shows here as soon as they allow it.',
      pending: true,
      steps: [{ id: 'cancel', label: 'Cancel', onClick: () => { void endSession() } }]
    })
  } else if (s.state === 'active') {
    status('Connected', 'active', pageShown
      ? null
      : { title: 'Connected', text: 'Loading the customer\'s page…', pending: true })
  }
  tools?.setEnabled(s.state === 'active' && streamOpen && !ended)
  if (s.state === 'active' && streamOpen && !replayer) prepareMirror()
}

/** The header's Leave and End go once they can do nothing more. */
function endSessionActions (): void {
  endButton.disabled = true
  leaveButton.disabled = true
  endButton.hidden = true
  leaveButton.hidden = true
  latencyEl.hidden = true
}

/** Ends the session for everyone (the header's End, or Cancel while waiting). */
let endSession: () => Promise<void> = async () => {}

async function connect (): Promise<void> {
  status('Connecting…', 'connecting', { title: 'Connecting to the session…', text: 'This takes a moment.', pending: true })
  // Joined straight away (one round trip fewer before the page shows); a session that has ended
  // refuses the join, and is then read to say why.
  let s: any
  try {
    s = await api('PUT', `/sessions/${encodeURIComponent(sessionId)}`, { agent: 'me' })
    markJoin('viewer-joined')
  } catch (e) {
    // It may have ended before or while we joined (the customer declined, say).
    s = await api('GET', `/sessions/${encodeURIComponent(sessionId)}`)
    if (s.state !== 'ended') throw e
  }
  if (s.state === 'ended') return onSession(s)
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
    applyGestures()
    ;(document.getElementById('tools') as HTMLElement).hidden = false
  }
  endSession = async () => {
    endedHere = true
    try {
      onSession(await api('PUT', `/sessions/${s.id}`, { state: 'ended' }))
    } catch (e) {
      endedHere = false
      notice(`Could not end the session: ${(e as Error).message}`)
    }
  }
  onSession(s)
  if (s.state === 'ended') return
  historyLink(s.id)
  shortcuts({ tools: () => tools, toggleFit, toggleFullscreen, toggleHelp })
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
  /** The recording's events, plain and compressed, played in the order they were sent. */
  const recording = new Recording((data: any, delay) => {
    // A new snapshot of the page: whatever stood in for it goes.
    if (data?.type === 2) {
      markJoin('viewer-snapshot')
      screenMessage(null)
    }
    try {
      onRrweb(data, delay)
    } catch (e) {
      // The replayer could not apply it: the agent is told, and the whole page is asked for.
      console.error('Tandem: could not show a change to the customer\'s page', e)
      bridge.send('error', { id: 'replay_failed', message: 'The customer\'s page could not be shown' })
      askAgain('The customer\'s page could not be shown')
    }
  }, (error) => {
    // Not played, and not silently: the agent reads it, the operator counts it in /metrics
    // (the server hears `viewer-error`), and the page is asked for all of it again.
    const message = `Part of the customer's page could not be decompressed (${error.message})`
    console.error(`Tandem: ${message}`)
    bridge.send('error', { id: 'undecodable_recording', message })
    sendOnStream('viewer-error', { id: 'undecodable_recording', message })
    askAgain('Part of the customer\'s page could not be decompressed')
  })
  /** The session's stream, opened with a fresh token each time; it reconnects (and catches up)
   * if it drops. */
  const stream = new CborSocket({
    endpoint: async () => {
      const tokens = await api('GET', `/sessions/${s.id}/tokens`)
      markJoin('viewer-tokens')
      // The socket is made as this returns; the mirror's frame while it opens.
      if (current?.state === 'active' && !replayer) prepareMirror()
      assetUrl = typeof tokens.asset_url === 'string' ? tokens.asset_url : ''
      return { url: socketUrl(new URL(tokens.stream_url, location.href)), token: tokens.stream_token }
    },
    delay: doubling(250, 10_000, false),
    final: [Close.SESSION_ENDED],
    // The first stream is the one viewer-boot.js opened, if it did (prefetch.ts).
    WebSocket: () => prefetchedSocket,
    onOpen: (reconnected) => {
      markJoin('viewer-stream-open')
      streamOpen = true
      chunks.reset()
      recording.reset()
      askedAgain = 0
      // The stream viewer-boot.js opened asked for the page as it opened (catch_up=1).
      if (reconnected || !tookSocket()) sendOnStream('sync', { type: 'Sync', id: String(Math.random()) })
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
        if (isRecording(taken.event)) screenMessage(null)
        onStreamEvent(taken.event, taken.data)
      } else if (taken?.kind === 'progress' && isRecording(taken.event)) {
        screenMessage(`Loading the customer's page… ${Math.floor(taken.progress * 100)}%`)
      } else if (taken?.kind === 'lost' && isRecording(taken.event)) {
        askAgain()
      }
    },
    onClose: (code) => {
      clearInterval(probe)
      streamOpen = false
      tools?.setEnabled(false)
      latencyEl.hidden = true
      if (ended || left) return stream.stop()
      if (code === Close.SESSION_ENDED) {
        // Why it ended is read from the session.
        api('GET', `/sessions/${s.id}`).then(onSession).catch(() => status('Session ended', 'ended', { title: 'The session has ended', text: '', steps: nextSteps(s.id) }))
        return
      }
      // Token expired (4002), server restart (1001), network: reconnect with a fresh token.
      status('Reconnecting…', 'reconnecting', {
        title: 'Reconnecting…',
        text: 'The connection to the session dropped. The customer\'s session goes on; their page comes back here in a moment.',
        pending: true,
        over: true
      })
    },
    onFailure: (error) => {
      failed('disconnected', `The connection to the session was lost: ${(error as Error).message}`, nextSteps(s.id))
      return false
    }
  })
  sendOnStream = (event, data) => { if (stream.open) stream.send(event, data) }
  /** One event from the customer's side, whole (joined from its chunks, if it came in them). */
  const onStreamEvent = (event: string | undefined, data: any): void => {
    if (isRecording(event ?? '')) markJoin('viewer-recording')
    if (event === 'chunk-aborted' || event === 'stream-error') {
      // The customer's page, or the server, could not get (part of) the page here.
      chunks.reset()
      const id = String(data?.id ?? 'stream_error')
      if (id === 'invalid_chunk') return askAgain()
      const text = typeof data?.message === 'string' ? data.message : 'The customer\'s page could not be shared'
      screenMessage(text, 'problem')
      bridge.send('error', { id, message: text })
    }
    if (event === 'rrweb') recording.plain(data)
    if (event === ZIPPED || event === MOVES) recording.zipped(data)
    if (event === 'session') onSession(data)
    if (event === 'alive') {
      const rtt = Date.now() - data.timestamp
      const q = quality(rtt)
      latencyEl.hidden = ended
      latencyEl.textContent = q
      latencyEl.dataset.quality = q.toLowerCase()
      latencyEl.setAttribute('aria-label', `Connection quality: ${q} (${rtt} ms round trip)`)
      latencyEl.title = `Connection quality: ${q} (${rtt} ms round trip)`
      bridge.send('session.metrics', { rtt, latency: rtt / 2, last_alive: Date.now() })
    }
    if (event === 'control-refused' || event === 'navigation') tools?.onEvent(event, data)
    // A page loaded in the session, or the customer's page moved on without loading one.
    if ((event === 'page' && pageShown) || event === 'drawings-cleared') tools?.pageChanged()
    // The customer's page talks to the helpdesk page: its messages and navigation outcomes.
    if (event === 'message') bridge.send('message', data)
    if (event === 'navigation') bridge.send('navigation', data)
    // Each page the customer loads, and the state their page keeps on the session.
    if (event === 'page') bridge.send('page', data)
    if (event === 'userstate') bridge.send('userstate', data)
    if (event === 'error' && data?.id === 'remote_control_off') notice('Not done: the customer has not given you control')
  }

  await stream.connect()
  leaveButton.onclick = () => {
    // Leave without ending: the customer's session goes on for the other agents.
    left = true
    stream.stop()
    clearInterval(probe)
    tools?.setEnabled(false)
    ;(document.getElementById('tools') as HTMLElement).hidden = true
    status(ENDS.left.status, 'ended', { title: ENDS.left.title, text: ENDS.left.text, steps: nextSteps(s.id) })
    endSessionActions()
  }
  endButton.onclick = () => { void endSession() }
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

/** What a refused agent token means, in words (the API's 401 `token_expired`/`invalid_token`). */
function tokenProblem (e: unknown): string | null {
  if (!(e instanceof APIError) || e.status !== 401) return null
  if (e.id === 'token_expired') return 'Your sign-in link has expired. Open the viewer again from your helpdesk or the console to get a fresh one.'
  if (e.id === 'not_signed_in') return 'You are not signed in to Tandem.'
  return 'Your sign-in link is not valid. Open the viewer again from your helpdesk or the console.'
}

/** `/code`: the agent types the customer's 6-digit code and opens that session. */
function codeForm (): void {
  endButton.hidden = true
  leaveButton.hidden = true
  status('Enter the customer\'s code')
  screen.classList.add('page')
  const last = lastSession(params.get('last'))
  if (last) {
    const card = document.createElement('p')
    card.className = 't-card last-session'
    card.id = 'last-session'
    card.setAttribute('role', 'status')
    card.textContent = last
    screen.append(card)
  }
  const form = document.createElement('form')
  form.id = 'code-form'
  form.className = 't-card'
  form.noValidate = true
  const heading = document.createElement('h1')
  heading.textContent = 'Join a customer\'s session'
  const field = document.createElement('div')
  field.className = 't-field'
  const label = document.createElement('label')
  label.htmlFor = 'code'
  label.textContent = 'Session code'
  const hint = document.createElement('span')
  hint.id = 'code-hint'
  hint.className = 't-field__hint'
  hint.textContent = 'The six digits the customer reads to you. Codes expire after 20 minutes.'
  const error = document.createElement('span')
  error.id = 'code-error'
  error.className = 't-field__error'
  error.setAttribute('role', 'alert')
  const row = document.createElement('div')
  row.className = 'row'
  const input = document.createElement('input')
  input.id = 'code'
  input.className = 't-input'
  input.inputMode = 'numeric'
  input.autocomplete = 'off'
  input.placeholder = '123 456'
  input.setAttribute('aria-describedby', 'code-hint code-error')
  const open = document.createElement('button')
  open.id = 'open'
  open.type = 'submit'
  open.className = 't-button t-button--primary'
  open.textContent = 'Open session'
  row.append(input, open)
  field.append(label, hint, row, error)
  form.append(heading, field)
  screen.append(form)
  const problem = (text: string, short = text): void => {
    error.textContent = text
    input.setAttribute('aria-invalid', text ? 'true' : 'false')
    status(short || 'Enter the customer\'s code', text ? 'failed' : 'page')
  }
  const refused = (e: unknown): boolean => {
    const why = tokenProblem(e)
    if (why) problem(why, e instanceof APIError && e.id === 'token_expired' ? 'Sign-in expired' : 'Not signed in')
    return Boolean(why)
  }
  // A token that no longer works is said at once, not after a code is typed.
  if (token || cookieMode) {
    api('GET', '/users/me').catch(refused)
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const code = input.value.replace(/\s/g, '')
    if (!/^\d{6}$/.test(code)) return problem('A code is six digits')
    problem('')
    api('GET', `/sessions/${code}`)
      .then((s) => { location.href = sessionUrl(s.id) })
      .catch((err) => { if (!refused(err)) problem('No session has that code (codes expire after 20 minutes)') })
  })
  input.focus()
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
  t.className = 't-table'
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
  screen.classList.add('history', 'page')
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
    if (patch.state === 'ended') endedHere = true
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
    if (!streamOpen || current?.state !== 'active') {
      throw new APIError('the customer\'s page is not connected: messages go while the session is active', { id: 'not_connected' })
    }
    sendOnStream('message', { name: d.name, payload: d.payload ?? null })
  })
  bridge.handle('create:navigation', (d) => {
    const action = d?.action
    if (!['back', 'forward', 'refresh', 'url'].includes(action)) {
      throw new APIError('navigation is back, forward, refresh or url', { id: 'invalid_request' })
    }
    if (action === 'url' && typeof d?.url !== 'string') throw new APIError('navigation to a url needs the url', { id: 'invalid_request' })
    return { id: agentTools().navigate(action, d?.url, navigationOptions(action, d)) }
  })
  bridge.handle('update:accessibility', (d) => {
    if (typeof d?.enabled !== 'boolean') throw new APIError('accessibility takes {enabled: true|false}', { id: 'invalid_request' })
    gestures.set(d.enabled)
    applyGestures()
    return { enabled: gestures.enabled }
  })
  bridge.handle('leave:session', (d) => {
    let next: URL | null = null
    if (d?.url != null) {
      try { next = new URL(String(d.url)) } catch { /* checked below */ }
      if (!next || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
        throw new APIError('leaveSession takes an http(s) address to go to', { id: 'invalid_request' })
      }
    }
    // Leaves without ending: the customer's session goes on (for other agents).
    if (leaveButton.onclick && !leaveButton.disabled) leaveButton.click()
    const to = next?.href
    if (to) setTimeout(() => { location.href = to }, 0)
    return { left: true, url: to ?? null }
  })
  bridge.handle('get:user', async (d) => {
    const me = await api('GET', '/users/me')
    if (d?.id && d.id !== 'me' && d.id !== me.id) throw new APIError('only the signed-in agent can be read here', { id: 'not_found' })
    return me
  })
}

/** Glance's `confirm`, `open` and `link` of a navigation, checked (the customer's page checks
 * them again). */
function navigationOptions (action: string, d: any): Record<string, unknown> {
  const how: Record<string, unknown> = {}
  const bad = (message: string): never => { throw new APIError(message, { id: 'invalid_request' }) }
  if (d?.confirm != null && d.confirm !== false) {
    if (d.confirm !== true && (typeof d.confirm !== 'object' || Array.isArray(d.confirm))) bad('confirm is an object')
    if (JSON.stringify(d.confirm).length > 2000) bad('confirm is too large')
    how.confirm = d.confirm === true ? {} : d.confirm
  }
  for (const key of ['open', 'link']) {
    const given = d?.[key]
    if (given == null) continue
    if (action !== 'url') bad(`${key} goes with a url, not ${action}`)
    if (typeof given !== 'object' || Array.isArray(given)) bad(`${key} is an object`)
    const target = given.target ?? '_self'
    if (target !== '_self' && target !== '_blank') bad(`${key}.target is _self or _blank`)
    const features = given.features
    if (features != null && (key !== 'open' || typeof features !== 'string' || features.length > 200)) bad(`${key}.features is a short string, for open only`)
    how[key] = features != null ? { target, features } : { target }
  }
  if (how.open && how.link) bad('give open or link, not both')
  return how
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
  // Embedded, the sign-in opens in its own tab.
  failed('not_signed_in', text, [{
    id: 'sign-in',
    label: 'Sign in',
    primary: true,
    href: `/dashboard/login?next=${encodeURIComponent(location.pathname + location.search)}`,
    target: bridge.embedded ? '_blank' : undefined
  }])
  const title = document.getElementById('state-title')
  if (title) title.textContent = 'Sign in to see this session'
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
  const route = here.route
  if (route === '/session') {
    glance()
  } else if (/^\/session\/[^/]+\/history$/.test(route)) {
    history().catch((e) => failed('history_failed', tokenProblem(e) ?? `Could not load the history: ${(e as Error).message}`))
  } else if ((route === '/agent' || route === '/cobrowse/slave.html') && !/^\d{9}$/.test(sid)) {
    endButton.hidden = true
    leaveButton.hidden = true
    failed('no_session', 'This link is missing its session. Open it again from the chat or the console.')
  } else if (route === '/code') {
    codeForm()
  } else if (route === '/connect') {
    connectDevice().catch((e) => failed('connect_failed', `Could not connect: ${(e as Error).message}`))
  } else {
    connect().catch(async (e) => {
      // The session may have ended while we were joining it (the customer declined, say).
      const s = await api('GET', `/sessions/${encodeURIComponent(sessionId)}`).catch(() => null)
      if (s?.state === 'ended') onSession(s)
      else failed('session_unavailable', tokenProblem(e) ?? `Could not open the session: ${(e as Error).message}`, [{ id: 'another-code', label: 'Enter a code', href: `/code?${carried()}` }])
    })
  }
}

/** `/session?ssncode=…|visitorid=…[&wait=1]`: Glance's viewer URL (glance.ts). */
function glance (): void {
  endButton.hidden = true
  leaveButton.hidden = true
  const key = glanceKey(params)
  const codePage = `/code?${carried()}`
  /** A page that says why there is nothing to show; the embedding page hears it as `error`. */
  const problem = (id: string, title: string, text: string, steps: Step[]): void => {
    status(title, 'failed', { title, text, kind: 'problem', steps })
    bridge.send('error', { id, message: `${title}. ${text}` })
  }
  if ('error' in key) {
    problem('invalid_link', 'This link cannot open a session', key.error, [{ id: 'another-code', label: 'Enter a code', href: codePage, primary: true }])
    return
  }
  const waitHere = new URL(location.href)
  waitHere.searchParams.set('wait', '1')
  openByKey(key, {
    api,
    open: (id) => { location.replace(sessionUrl(id)) },
    waiting: (title, text) => status(title, 'waiting', { title, text, pending: true }),
    problem,
    ended: (s) => onSession(s),
    tell: (event, data) => bridge.send(event, data),
    tokenProblem,
    codePage,
    waitHere: waitHere.pathname + waitHere.search
  }).catch((e) => failed('session_unavailable', tokenProblem(e) ?? `Could not look for the session: ${(e as Error).message}`))
}

main().catch((e) => {
  endButton.hidden = true
  leaveButton.hidden = true
  failed('start_failed', `Could not start: ${(e as Error).message}`)
})
