// Glance's viewer URL: `/session?ssncode=<6-digit code>` or `/session?visitorid=<visitor id>`
// (`SessionKey` is a synonym of `visitorid`; names in any case, as Glance's `Wait=1`). It finds
// the session the customer started and opens it (`/session/<id>`). Not started yet: with
// `wait=1` it says it is waiting and opens the session the moment the customer starts it, told
// by the realtime socket (the code's session by its `control_token` subscription, a visitor by
// `watch-visitor`); without, a page that says why there is nothing to show.
import { APIError, CborSocket, Close, doubling, socketUrl, type Frame } from '@tandem/core'
import type { Step } from './states.js'

export type GlanceKey =
  | { kind: 'ssncode', value: string, wait: boolean }
  | { kind: 'visitorid', value: string, wait: boolean }

/** The key and `wait` of a Glance viewer URL; an error (in words) when it names none or both. */
export function glanceKey (params: URLSearchParams): GlanceKey | { error: string } {
  const found: Record<string, string> = {}
  for (const [name, value] of params) {
    const key = name.toLowerCase()
    found[key === 'sessionkey' ? 'visitorid' : key] = value
  }
  const wait = found.wait === '1' || found.wait === 'true'
  const code = found.ssncode
  const visitor = found.visitorid
  if (code !== undefined && visitor !== undefined) {
    return { error: 'This link names both a session code and a visitor: keep one of ssncode and visitorid.' }
  }
  if (code !== undefined) {
    const digits = code.replace(/\s/g, '')
    if (!/^\d{6}$/.test(digits)) return { error: `“${code.slice(0, 40)}” is not a session code: a code is six digits.` }
    return { kind: 'ssncode', value: digits, wait }
  }
  if (visitor !== undefined) {
    if (!visitor || new TextEncoder().encode(visitor).length > 256 || /\p{Cc}/u.test(visitor)) {
      return { error: 'This link\'s visitor id is empty or not one a page can set (at most 256 characters).' }
    }
    return { kind: 'visitorid', value: visitor, wait }
  }
  return { error: 'This link does not say which session to open: it needs ssncode=<6-digit code> or visitorid=<visitor id>.' }
}

/** A code as the customer reads it: `482 913`. */
export function spaced (code: string): string {
  return `${code.slice(0, 3)} ${code.slice(3)}`
}

/** Whether the customer has started session `s`: their browser is on it. */
export function started (s: any): boolean {
  return s?.state !== 'pending' || s?.device != null
}

/** What the Glance entry needs of the viewer. */
export interface GlanceSide {
  api: <T = any>(method: string, path: string) => Promise<T>
  /** Opens the session in this viewer (`/session/<id>`). */
  open: (id: string) => void
  waiting: (title: string, text: string) => void
  problem: (id: string, title: string, text: string, steps: Step[]) => void
  /** The session ended while the agent waited for it. */
  ended: (s: any) => void
  /** Tells the embedding page. */
  tell: (event: string, data: unknown) => void
  /** Why a refused credential fails, in words (null when that is not what happened). */
  tokenProblem: (e: unknown) => string | null
  /** The viewer's own pages, with how this one got its credential. */
  codePage: string
  /** This page again, with `wait=1`. */
  waitHere: string
}

function notFound (e: unknown): boolean {
  return e instanceof APIError && e.status === 404
}

/** Finds and opens the session `key` names, or waits for it, or says why it cannot. */
export async function openByKey (key: GlanceKey, side: GlanceSide): Promise<void> {
  if (key.kind === 'ssncode') await byCode(key.value, key.wait, side)
  else await byVisitor(key.value, key.wait, side)
}

const waitHereStep = (side: GlanceSide): Step => ({ id: 'wait-here', label: 'Wait here for the customer', href: side.waitHere, primary: true })

async function byCode (code: string, wait: boolean, side: GlanceSide): Promise<void> {
  let s: any
  try {
    s = await side.api('GET', `/sessions/${code}`)
  } catch (e) {
    if (!notFound(e)) throw e
    // A code exists from when it is handed out: one the server does not know never starts.
    return side.problem('session_not_found', `No session has code ${spaced(code)}`,
      'No customer started a session with this code, or it has expired (codes last 20 minutes). ' +
      'Check the digits with the customer, or ask them for a new code.',
      [{ id: 'another-code', label: 'Enter a code', href: side.codePage, primary: true }])
  }
  if (s.state === 'ended') return side.ended(s)
  if (started(s)) return side.open(s.id)
  if (!wait) {
    return side.problem('session_not_started', 'The customer has not started this session yet',
      `Code ${spaced(code)} is waiting for the customer to enter it on their page. This page can wait and open the session as soon as they do.`,
      [waitHereStep(side)])
  }
  side.waiting('Waiting for the customer…', `Code ${spaced(code)}: the session opens here as soon as the customer enters the code on their page.`)
  side.tell('waiting', { ssncode: code })
  follow(side, (socket) => { socket.send('subscribe', s.control_token) }, (frame) => {
    if (frame.event !== 'session' || frame.data?.id !== s.id) return
    if (frame.data.state === 'ended') side.ended(frame.data)
    else if (started(frame.data)) side.open(frame.data.id)
  })
}

async function byVisitor (visitor: string, wait: boolean, side: GlanceSide): Promise<void> {
  const path = `/visitors/${encodeURIComponent(visitor)}/session`
  const find = async (): Promise<any> => {
    try {
      return await side.api('GET', path)
    } catch (e) {
      if (notFound(e)) return null
      if (e instanceof APIError && e.id === 'visitor_ids_off') {
        side.problem('visitor_ids_off', 'Visitor ids are not set up for this account',
          'An administrator chooses which of the custom data a site gives Tandem holds the visitor id (the account setting visitor_id_key). Until then, open sessions by their code.',
          [{ id: 'another-code', label: 'Enter a code', href: side.codePage, primary: true }])
        return undefined
      }
      throw e
    }
  }
  const s = await find()
  if (s === undefined) return
  if (s) return side.open(s.id)
  if (!wait) {
    return side.problem('session_not_found', 'This customer has no session',
      `The visitor “${visitor}” has not started a session, or it has ended. Ask them to start one on the site: this page can wait and open it as soon as they do.`,
      [waitHereStep(side)])
  }
  side.waiting('Waiting for the customer…', `Visitor “${visitor}”: the session opens here as soon as they start it.`)
  side.tell('waiting', { visitorid: visitor })
  /** The id of the `watch-visitor` frame on the socket now: its ack means it is in place. */
  let watch = -1
  const lookAgain = (): void => {
    find().then((found) => { if (found) side.open(found.id) }, (e) => fail(e, side))
  }
  follow(side, (socket) => { watch = socket.send('watch-visitor', visitor) }, (frame) => {
    // Watching from now on: whatever started before is found by looking once more.
    if (frame.ack !== undefined && Number(frame.ack) === watch) lookAgain()
    if (frame.event === 'visitor-started' && frame.data?.visitorid === visitor) lookAgain()
  })
}

function fail (e: unknown, side: GlanceSide): void {
  side.problem('waiting_failed', 'Waiting for the customer stopped', side.tokenProblem(e) ?? `Could not look for the session: ${(e as Error).message}`, [])
}

/**
 * The agent's realtime socket (the notification token of `/users/me`), which reconnects by
 * itself; `onOpen` says what to follow on each new socket. A refusal stops it, and says so.
 */
function follow (side: GlanceSide, onOpen: (socket: CborSocket) => void, onFrame: (frame: Frame) => void): void {
  const stop = (e: unknown): void => {
    socket.stop()
    fail(e, side)
  }
  const socket: CborSocket = new CborSocket({
    endpoint: async () => {
      const me = await side.api('GET', '/users/me')
      return { url: socketUrl(new URL(String(me.notification_url), location.href)), token: String(me.notification_token) }
    },
    delay: doubling(500, 30_000),
    ping: 60_000,
    final: [Close.UNAUTHORIZED],
    onOpen: () => onOpen(socket),
    onFrame: (frame) => {
      if (frame.event === 'error') return stop(new Error(String(frame.data?.message ?? 'the server refused')))
      onFrame(frame)
    },
    onClose: (code) => { if (code === Close.UNAUTHORIZED) stop(new Error('your sign-in is no longer valid')) },
    onFailure: (e) => {
      if (side.tokenProblem(e)) stop(e)
      return !side.tokenProblem(e)
    }
  })
  socket.connect().catch(stop)
}
