// The agent viewer at /session/:id?token=<JWT>: joins the session as the agent, opens the
// session's stream and replays the customer's page live with rrweb's Replayer, in a sandboxed
// frame the page's CSP also covers.
import { Replayer } from '@rrweb/replay'
import { decode, encode } from 'cbor-x'

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

const params = new URLSearchParams(location.search)
const token = params.get('token') ?? ''
/** `/session/<id>`, or the agent page `/agent#sid=<9-digit token>` (a token from a chat). */
const sid = new URLSearchParams(location.hash.slice(1)).get('sid') ?? ''
const sessionId = sid || decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '')

async function api<T = any> (method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const json = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(json.message ?? res.statusText)
  return json as T
}

let replayer: Replayer | null = null
let ended = false

function onRrweb (event: any): void {
  // Events are played as they arrive: re-stamped with the agent's clock, so neither the
  // customer's clock nor how late the first event came (the page's socket still connecting, a
  // catch-up from the server's replay) delays everything after it.
  const live = { ...event, timestamp: Date.now() }
  if (!replayer) {
    replayer = new Replayer([], { root: screen, liveMode: true, mouseTail: false })
    replayer.on('resize', (size: any) => {
      viewport = { width: size.width, height: size.height }
      fit()
    })
    replayer.startLive(live.timestamp - 1)
  }
  replayer.addEvent(live)
}

function onSession (s: any): void {
  if (s.state === 'ended') {
    ended = true
    status(`Session ended (${s.ended_reason ?? 'ended'})`)
    endButton.disabled = true
    leaveButton.disabled = true
    // end_action=code: back to the code page for the next customer (default: stay here).
    if (params.get('end_action') === 'code') {
      setTimeout(() => {
        location.href = `/code?token=${encodeURIComponent(token)}&end_action=code`
      }, 1500)
    }
  } else if (s.state === 'authorizing') {
    status('Waiting for the customer to accept…')
  } else if (s.state === 'active') {
    status('Connected')
  }
}

async function connect (): Promise<void> {
  let s = await api('GET', `/api/1/sessions/${encodeURIComponent(sessionId)}`)
  if (s.state === 'ended') return onSession(s)
  try {
    s = await api('PUT', `/api/1/sessions/${s.id}`, { agent: 'me' })
  } catch (e) {
    // The customer may have ended it in the meantime (declined, say).
    s = await api('GET', `/api/1/sessions/${s.id}`)
    if (s.state !== 'ended') throw e
  }
  onSession(s)
  if (s.state === 'ended') return
  let left = false
  let ws: WebSocket | null = null
  let attempt = 0
  /** Opens the session's stream with a fresh token; reconnects (and catches up) if it drops. */
  const open = async (): Promise<void> => {
    const tokens = await api('GET', `/api/1/sessions/${s.id}/tokens`)
    const url = new URL('sockets/1/ws', new URL(tokens.stream_url, location.href))
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    const bearer = btoa(tokens.stream_token).replace(/=+$/, '')
    const socket = new WebSocket(url, ['cbor', `cbio.http.headers.authorization.bearer.${bearer}`])
    socket.binaryType = 'arraybuffer'
    ws = socket
    let id = 0
    const send = (event: string, data?: unknown): void => { socket.send(encode({ event, id: ++id, data })) }
    let probe: ReturnType<typeof setInterval> | undefined
    socket.onopen = () => {
      if (attempt > 0 && !ended) status('Connected')
      attempt = 0
      send('sync', { type: 'Sync', id: String(Math.random()) })
      // Round trips to the server, shown next to the status.
      const ping = (): void => send('probe', { timestamp: Date.now() })
      ping()
      probe = setInterval(ping, 3000)
    }
    socket.onmessage = (e) => {
      const msg = decode(new Uint8Array(e.data as ArrayBuffer))
      if (msg?.event === 'rrweb') onRrweb(msg.data)
      if (msg?.event === 'session') onSession(msg.data)
      if (msg?.event === 'alive') latencyEl.textContent = `${Date.now() - msg.data.timestamp} ms`
    }
    socket.onclose = (e) => {
      clearInterval(probe)
      latencyEl.textContent = ''
      if (ended || left) return
      if (e.code === 4004) return status('Session ended')
      // Token expired (4002), server restart (1001), network: reconnect with a fresh token.
      attempt += 1
      status(`Reconnecting… (${e.code})`)
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6))
      setTimeout(() => { open().catch((err) => status(`Disconnected: ${(err as Error).message}`)) }, delay)
    }
  }
  await open()
  leaveButton.onclick = () => {
    // Leave without ending: the customer's session goes on for the other agents.
    left = true
    ws?.close(1000)
    status('You left the session; it goes on without you')
    endButton.disabled = true
    leaveButton.disabled = true
  }
  endButton.onclick = async () => {
    onSession(await api('PUT', `/api/1/sessions/${s.id}`, { state: 'ended' }))
  }
}

/** The viewer's URL for a session, keeping this page's token and `end_action`. */
function sessionUrl (id: string): string {
  const next = new URLSearchParams({ token })
  const endAction = params.get('end_action')
  if (endAction) next.set('end_action', endAction)
  return `/session/${encodeURIComponent(id)}?${next}`
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
    api('GET', `/api/1/sessions/${code}`)
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
  const devices: any[] = await api('GET', `/api/1/devices?${filters}`)
  const device = devices.find((d) => d.online)
  if (!device) return status(devices.length ? 'The customer is not online' : 'No customer matches')
  const s = await api('POST', '/api/1/sessions', { agent: 'me' })
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await api('POST', `/api/1/devices/${encodeURIComponent(device.id)}/notifications`, { session: s.id, attempt })
      location.href = sessionUrl(s.id)
      return
    } catch (e) {
      status(`Could not reach the customer (attempt ${attempt}): ${(e as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 4000))
    }
  }
}

const route = location.pathname.replace(/\/$/, '')
if (route === '/agent' && !/^\d{9}$/.test(sid)) {
  endButton.hidden = true
  leaveButton.hidden = true
  status('Open this page with #sid=<the 9-digit session token>')
} else if (route === '/code') {
  codeForm()
} else if (route === '/connect') {
  connectDevice().catch((e) => status(`Could not connect: ${(e as Error).message}`))
} else {
  connect().catch(async (e) => {
    // The session may have ended while we were joining it (the customer declined, say).
    const s = await api('GET', `/api/1/sessions/${encodeURIComponent(sessionId)}`).catch(() => null)
    if (s?.state === 'ended') onSession(s)
    else status(`Could not open the session: ${(e as Error).message}`)
  })
}
