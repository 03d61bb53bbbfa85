// What the viewer tells the agent about the session, in a support agent's words: the phase in
// the header (with a spinner while something is pending) and, over the stage, a card saying
// what is happening or what happened, with the next steps. No raw code reaches the screen.

/** The phases the header shows. */
export type Phase = 'connecting' | 'waiting' | 'active' | 'reconnecting' | 'ended' | 'declined' | 'failed' | 'page'

/** How a session ended, as the agent would put it (also the code page's `last=`). */
export type EndKind = 'declined' | 'customer' | 'agent' | 'you' | 'cancelled' | 'expired' | 'unanswered' | 'inactive' | 'left' | 'other'

/** A next step on a card: a link or a button. */
export interface Step {
  id: string
  label: string
  href?: string
  target?: string
  primary?: boolean
  onClick?: () => void
}

export interface Card {
  title: string
  text: string
  pending?: boolean
  /** Shown over the customer's page (which stays visible behind it). */
  over?: boolean
  kind?: 'problem'
  steps?: Step[]
}

interface Ended { ended_reason?: string | null, activated?: string | null }

/** The kind of end of session `s`; `mine` when this viewer ended it. */
export function endKind (s: Ended, mine: boolean): EndKind {
  const reason = s.ended_reason ?? ''
  const activated = Boolean(s.activated)
  if (reason === 'device_ended') return activated ? 'customer' : 'declined'
  if (reason === 'agent_ended') return !activated ? 'cancelled' : mine ? 'you' : 'agent'
  if (reason === 'pending_timeout') return 'expired'
  if (reason === 'authorizing_timeout') return 'unanswered'
  if (reason === 'active_timeout') return 'inactive'
  return 'other'
}

/** The header's words and the card's for each kind of end. */
export const ENDS: Record<EndKind, { status: string, title: string, text: string }> = {
  declined: {
    status: 'Customer declined',
    title: 'The customer declined to share their screen',
    text: 'Nothing of their page was shared. If they change their mind, ask them for a new code.'
  },
  customer: {
    status: 'Session ended by the customer',
    title: 'The customer ended the session',
    text: 'They stopped sharing their screen.'
  },
  you: {
    status: 'Session ended by you',
    title: 'You ended the session',
    text: 'The customer\'s screen is no longer shared.'
  },
  agent: {
    status: 'Session ended by an agent',
    title: 'Another agent ended the session',
    text: 'The customer\'s screen is no longer shared.'
  },
  cancelled: {
    status: 'Session ended: request cancelled',
    title: 'The request was cancelled',
    text: 'The session ended before the customer accepted; nothing of their page was shared.'
  },
  expired: {
    status: 'Session ended: the code expired',
    title: 'The code expired',
    text: 'Nobody joined with the code in time. Ask the customer for a new one.'
  },
  unanswered: {
    status: 'Session ended: no answer',
    title: 'The customer did not answer in time',
    text: 'The request to share their screen timed out. Ask them to try again with a new code.'
  },
  inactive: {
    status: 'Session ended: timed out after inactivity',
    title: 'The session timed out',
    text: 'It ended after a long period with no activity from the customer or an agent.'
  },
  left: {
    status: 'You left the session; it goes on without you',
    title: 'You left the session',
    text: 'It goes on for the customer and any other agent.'
  },
  other: {
    status: 'Session ended',
    title: 'The session has ended',
    text: 'The customer\'s screen is no longer shared.'
  }
}

/** What the code page says about the last session (`/code?last=<kind>`). */
export function lastSession (kind: string | null): string | null {
  if (!kind || !(kind in ENDS)) return null
  const end = ENDS[kind as EndKind]
  return `Your last session: ${end.title.charAt(0).toLowerCase()}${end.title.slice(1)}.`
}

/** Connection quality from a round trip, in words. */
export function quality (rtt: number): 'Good' | 'Fair' | 'Poor' {
  return rtt < 150 ? 'Good' : rtt < 400 ? 'Fair' : 'Poor'
}

function $ (id: string): HTMLElement {
  return document.getElementById(id) as HTMLElement
}

/** The header's phase badge and the stage's card. */
export class States {
  /** Sets the header's phase and words; a card over the stage, or none. */
  show (phase: Phase, status: string, card: Card | null = null): void {
    const badge = $('phase')
    badge.dataset.phase = phase
    const pending = phase === 'connecting' || phase === 'waiting' || phase === 'reconnecting'
    if (pending) badge.dataset.pending = ''
    else delete badge.dataset.pending
    $('status').textContent = status
    this.card(card)
  }

  card (card: Card | null): void {
    const el = $('state')
    if (!card) {
      el.hidden = true
      return
    }
    el.hidden = false
    if (card.pending) el.dataset.pending = ''
    else delete el.dataset.pending
    if (card.over) el.dataset.over = ''
    else delete el.dataset.over
    if (card.kind) el.dataset.kind = card.kind
    else delete el.dataset.kind
    $('state-title').textContent = card.title
    $('state-text').textContent = card.text
    $('state-actions').replaceChildren(...(card.steps ?? []).map(step))
  }
}

function step (s: Step): HTMLElement {
  const el = document.createElement(s.href ? 'a' : 'button')
  el.id = s.id
  el.className = `t-button${s.primary ? ' t-button--primary' : ''}`
  el.textContent = s.label
  if (el instanceof HTMLAnchorElement) {
    el.href = s.href as string
    if (s.target) el.target = s.target
    if (s.target === '_blank') el.rel = 'noopener'
  } else {
    (el as HTMLButtonElement).type = 'button'
  }
  if (s.onClick) el.addEventListener('click', s.onClick)
  return el
}
