// The SDK's own interface: the 6-digit code, the consent and remote-control dialogs, the
// indicator while the page is shared and the note when sharing ends. It lives in a shadow root
// (the page's CSS does not reach it), its host carries the `tandem-service` class, which the
// recorder blocks, so agents never see it, and every word comes from messages.ts.
import { fill, type Messages, messagesFor } from './messages.js'

const SERVICE = 'tandem-service'

/** How the UI speaks: the message table, its language and the account agents work for. */
const context: { lang: string, t: Messages, account: string } = { lang: 'en', t: messagesFor('en').messages, account: '' }

/** Chooses the language (`locale`, else the browser's) and any strings of the site's own. */
export function configure (locale?: string, overrides?: Partial<Messages>): void {
  const { lang, messages } = messagesFor(locale, overrides)
  context.lang = lang
  context.t = messages
  if (root) (root.host as HTMLElement).lang = lang
}

/** The account's name, shown beside the agent's (from the device registration). */
export function setAccount (name: string | undefined): void {
  context.account = name ?? ''
}

/** A message in the UI's language with `values` in its placeholders (for the announcements). */
export function phrase (key: keyof Messages, values: Record<string, string>): string {
  return fill(context.t[key], values)
}

/** The UI's language. */
export function uiLang (): string {
  return context.lang
}

/** A message with its placeholders filled; `agent` defaults to "A support agent". */
function say (key: keyof Messages, agent = ''): string {
  const t = context.t
  const name = agent || t.someAgent
  const who = context.account ? fill(t.agentFrom, { agent: name, account: context.account }) : name
  return fill(t[key], { agent: name, who, site: location.hostname || location.origin })
}

// The design system's tokens (sdk-js/packages/design/tokens.css) that this UI uses, copied so
// the bundle carries only these; test/ui.test.ts checks they still match.
export const TOKENS = `--t-surface:#ffffff;--t-surface-sunken:#eef0f3;--t-border:#d5d9e0;--t-text:#161b26;
--t-text-muted:#4b5565;--t-text-inverse:#ffffff;--t-accent:#4338ca;--t-accent-hover:#3730a3;
--t-success:#047857;--t-danger:#b91c1c;--t-focus:#2563eb;--t-space-1:4px;--t-space-2:8px;
--t-space-3:12px;--t-space-4:16px;--t-space-5:24px;--t-font:system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
--t-text-sm:13px;--t-text-md:15px;--t-text-lg:18px;--t-text-xl:22px;--t-leading:1.45;
--t-weight-medium:500;--t-weight-bold:650;--t-radius:8px;--t-radius-lg:12px;
--t-shadow-lg:0 12px 32px rgb(16 24 40 / 22%);`

const STYLE = `:host{all:initial;${TOKENS}}
*{box-sizing:border-box}
.stack,.layer{font:var(--t-text-md)/var(--t-leading) var(--t-font);color:var(--t-text)}
.stack{position:absolute;right:0;bottom:0;width:max-content;max-width:min(480px,calc(100vw - 32px));display:flex;flex-direction:column;align-items:flex-end;gap:var(--t-space-2)}
.card{background:var(--t-surface);border:1px solid var(--t-border);border-radius:var(--t-radius-lg);box-shadow:var(--t-shadow-lg);padding:var(--t-space-4)}
.code b{display:block;font-size:28px;letter-spacing:3px;font-weight:var(--t-weight-bold);font-variant-numeric:tabular-nums}
.muted{color:var(--t-text-muted);font-size:var(--t-text-sm);margin:0}
.bar{display:flex;flex-wrap:wrap;align-items:center;justify-content:flex-end;gap:var(--t-space-2) var(--t-space-3);background:var(--t-text);color:var(--t-text-inverse);border-radius:var(--t-radius-lg);padding:8px 8px 8px 14px;box-shadow:var(--t-shadow-lg);font-size:var(--t-text-sm)}
.bar p{margin:0;flex:1 1 auto;display:flex;align-items:center;gap:var(--t-space-2)}
.bar div{display:flex;gap:var(--t-space-2)}
.dot{width:10px;height:10px;border-radius:50%;background:#f87171;flex:none;animation:pulse 2s ease-in-out infinite}
.bar.control .dot{background:#fbbf24}
@keyframes pulse{50%{opacity:.35}}
.layer{position:fixed;inset:0;display:flex;align-items:center;justify-content:center;padding:var(--t-space-4);background:rgb(16 24 40 / 45%);animation:fade .15s ease-out}
.dialog{width:min(440px,100%);max-height:calc(100vh - 32px);overflow:auto;padding:var(--t-space-5)}
h2{font-size:var(--t-text-lg);font-weight:var(--t-weight-bold);line-height:1.3;margin:0 0 var(--t-space-3)}
ul{margin:0;padding:0;list-style:none;display:grid;gap:var(--t-space-2)}
li{display:flex;gap:var(--t-space-2)}
li::before{content:"✓";content:"✓"/"";color:var(--t-success);font-weight:var(--t-weight-bold)}
li.not::before{content:"✕";content:"✕"/"";color:var(--t-danger)}
.actions{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:var(--t-space-2);margin-top:var(--t-space-5)}
button{font:inherit;font-weight:var(--t-weight-medium);border-radius:var(--t-radius);padding:8px 16px;min-height:40px;cursor:pointer;border:1px solid var(--t-border);background:var(--t-surface);color:var(--t-text)}
button:hover{background:var(--t-surface-sunken)}
button.primary{background:var(--t-accent);border-color:var(--t-accent);color:var(--t-text-inverse)}
button.primary:hover{background:var(--t-accent-hover)}
.bar button{min-height:32px;padding:4px 12px;border:0}
button:focus-visible{outline:none;box-shadow:0 0 0 2px var(--t-surface),0 0 0 5px var(--t-focus)}
.ended{display:flex;gap:var(--t-space-3);align-items:flex-start;animation:fade .2s ease-out;transition:opacity .4s}
.ended.out{opacity:0}
.ended p{margin:0}
.ended strong{display:block}
.ended button{border:0;background:none;padding:0 4px;min-height:24px;font-size:20px;line-height:1;color:var(--t-text-muted)}
@keyframes fade{from{opacity:0}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}`

let root: ShadowRoot | null = null

/**
 * The UI's shadow root. Its host, `#tandem-ui`, is a fixed point of no size at the bottom
 * right (the boxes hang from it), so the agent's copy of the page has nothing of it.
 */
function shadow (): ShadowRoot {
  if (root?.host.isConnected) return root
  const host = document.createElement('div')
  host.id = 'tandem-ui'
  host.className = SERVICE
  host.lang = context.lang
  host.setAttribute('style', 'position:fixed;z-index:2147483647;right:16px;bottom:16px;width:0;height:0')
  root = host.attachShadow({ mode: 'open' })
  const style = document.createElement('style')
  style.textContent = STYLE
  const stack = document.createElement('div')
  stack.className = 'stack'
  root.append(style, stack)
  followTopLayer(host)
  return root
}

/**
 * Where the SDK's boxes must live to be seen and clicked: inside the page's topmost modal
 * dialog when one is open (a modal dialog makes everything outside it inert, and covers it),
 * else inside the element in fullscreen, else the body.
 */
function topLayerHome (): Element {
  try {
    const modals = document.querySelectorAll('dialog:modal')
    if (modals.length) return modals[modals.length - 1]
  } catch {
    // A browser without :modal: the body.
  }
  return document.fullscreenElement ?? document.body
}

/** Keeps `host` where the customer can reach it as the page opens and closes dialogs. */
function followTopLayer (host: HTMLElement): void {
  const rehome = (): void => {
    const home = topLayerHome()
    if (host.parentElement !== home) home.appendChild(host)
  }
  rehome()
  new MutationObserver(rehome).observe(document.documentElement, { subtree: true, attributeFilter: ['open'] })
  document.addEventListener('fullscreenchange', rehome)
}

function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text) e.textContent = text
  return e
}

function find (id: string): HTMLElement | null {
  return root?.getElementById(id) ?? null
}

function remove (id: string): void {
  find(id)?.remove()
}

/** A box in the bottom-right stack; `order` puts the indicator below questions and notes. */
function box (id: string, className: string, order: number): HTMLElement {
  remove(id)
  const e = el('div', { id, class: className, style: `order:${order}` })
  shadow().querySelector('.stack')?.appendChild(e)
  return e
}

function button (label: string, onClick: () => void, className = ''): HTMLButtonElement {
  const b = el('button', { type: 'button', class: className }, label)
  b.addEventListener('click', onClick)
  return b
}

export function showCode (code: string): void {
  const e = box('tandem-code', 'card code', 1)
  e.setAttribute('role', 'status')
  const value = el('b', { id: 'tandem-code-value' }, code.replace(/(\d{3})(\d{3})/, '$1 $2'))
  e.append(el('p', { class: 'muted' }, context.t.code), value, el('p', { class: 'muted' }, context.t.codeHint))
}

/** What had focus before a dialog opened, to give it back. */
const returnFocus = new Map<string, Element | null>()

/** The open dialogs, latest last: the latest keeps focus. */
const open: HTMLElement[] = []

function focusables (dialog: HTMLElement): HTMLElement[] {
  return [...dialog.querySelectorAll<HTMLElement>('button:not([disabled])')]
}

/** Focus that leaves the open dialog (a click on the page, say) comes back to it. */
function keepFocus (e: FocusEvent): void {
  const dialog = open[open.length - 1]
  if (!dialog || !root) return
  if (e.target === root.host && dialog.contains(root.activeElement)) return
  focusables(dialog)[0]?.focus()
}

/**
 * A modal question: a title, what it means (`points`, each `[text, allowed]`), and two answers.
 * Focus moves to the first answer and stays in the dialog; Escape is the second answer.
 */
function dialog (
  id: string,
  title: string,
  points: Array<[string, boolean]>,
  labels: [string, string],
  answer: (yes: boolean) => void
): void {
  close(id)
  const layer = el('div', { class: 'layer', id: `${id}-layer` })
  const d = el('div', { id, class: 'card dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': `${id}-title` })
  d.append(el('h2', { id: `${id}-title` }, title))
  if (points.length) {
    const list = el('ul', { id: `${id}-text` })
    for (const [text, allowed] of points) list.append(el('li', allowed ? {} : { class: 'not' }, text))
    d.append(list)
    d.setAttribute('aria-describedby', `${id}-text`)
  }
  const done = (yes: boolean): void => { close(id); answer(yes) }
  const yes = button(labels[0], () => done(true), 'primary')
  const no = button(labels[1], () => done(false))
  const actions = el('div', { class: 'actions' })
  actions.append(no, yes)
  d.append(actions)
  d.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault()
      e.stopPropagation()
      done(false)
    } else if (e.key === 'Tab') {
      const all = focusables(d)
      const at = all.indexOf(root?.activeElement as HTMLElement)
      const next = (at + (e.shiftKey ? -1 : 1) + all.length) % all.length
      e.preventDefault()
      all[next]?.focus()
    }
  })
  // A click on the backdrop leaves focus in the dialog.
  layer.addEventListener('mousedown', (e) => { if (e.target === layer) e.preventDefault() })
  layer.append(d)
  returnFocus.set(id, document.activeElement)
  shadow().append(layer)
  if (!open.length) document.addEventListener('focusin', keepFocus, true)
  open.push(d)
  yes.focus()
}

/** Closes dialog `id`, giving focus back to where it was. */
function close (id: string): void {
  const d = find(id)
  if (!d) return
  d.parentElement?.remove()
  open.splice(open.indexOf(d), 1)
  if (!open.length) document.removeEventListener('focusin', keepFocus, true)
  const back = returnFocus.get(id)
  returnFocus.delete(id)
  if (back instanceof HTMLElement && back.isConnected && back !== document.body) back.focus()
}

export function askConsent (agent: string, answer: (yes: boolean) => void): void {
  const t = context.t
  dialog('tandem-consent', say('consentTitle', agent),
    [[say('consentSees', agent), true], [say('consentNotSees', agent), false]], [t.allow, t.decline], answer)
}

export function askControl (agent: string, answer: (yes: boolean) => void): void {
  const t = context.t
  dialog('tandem-control-request', say('controlTitle', agent),
    [[say('controlCan', agent), true], [say('controlCannot', agent), false]], [t.allow, t.decline], answer)
}

/** Closes the remote-control question (the agent withdrew it, or it was answered elsewhere). */
export function dropControlRequest (): void {
  close('tandem-control-request')
}

/** A yes/no question from the agent's tools (leaving for another site, say). */
export function confirm (question: string): Promise<boolean> {
  const t = context.t
  return new Promise((resolve) => dialog('tandem-confirm', question, [], [t.yes, t.no], resolve))
}

/**
 * The indicator while a session is active: who is viewing (or has control), with Stop sharing
 * and, while the agent has control, Stop control.
 */
export function showBanner (agent: string, end: () => void, stopControl?: () => void): void {
  remove('tandem-code')
  remove('tandem-ended')
  const t = context.t
  const e = box('tandem-banner', stopControl ? 'bar control' : 'bar', 2)
  e.setAttribute('role', 'region')
  e.setAttribute('aria-label', t.sharing)
  const text = el('p', { role: 'status' })
  text.append(el('span', { class: 'dot', 'aria-hidden': 'true' }), say(stopControl ? 'controlling' : 'viewing', agent))
  const buttons = el('div')
  if (stopControl) buttons.append(button(t.stopControl, stopControl))
  buttons.append(button(t.stopSharing, end))
  e.append(text, buttons)
}

/** Why a session ended, as the customer sees it. */
export type Ending = 'you' | 'agent' | 'declined' | 'timeout' | 'code_expired' | 'other'

/** Each ending's title and sentence. */
const ENDINGS: Record<Ending, [keyof Messages, keyof Messages]> = {
  you: ['endedTitle', 'endedByYou'],
  agent: ['endedTitle', 'endedByAgent'],
  declined: ['declinedTitle', 'declined'],
  timeout: ['sessionEndedTitle', 'timedOut'],
  code_expired: ['codeExpiredTitle', 'codeExpired'],
  other: ['sessionEndedTitle', 'ended']
}

/** How long the note that sharing ended stays, unless the customer is reading it. */
const ENDED_MS = 8000

/** Clears the session's boxes and says, for a few seconds, that it ended and why. */
export function showEnded (ending: Ending, agent: string): void {
  clear()
  const t = context.t
  const e = box('tandem-ended', 'card ended', 1)
  e.setAttribute('role', 'status')
  const text = el('p')
  const [title, sentence] = ENDINGS[ending]
  text.append(el('strong', {}, say(title, agent)), say(sentence, agent))
  const dismiss = button('×', () => e.remove())
  dismiss.setAttribute('aria-label', t.dismiss)
  e.append(text, dismiss)
  let timer: ReturnType<typeof setTimeout> | undefined
  const fade = (): void => {
    e.classList.add('out')
    setTimeout(() => e.remove(), matchMedia('(prefers-reduced-motion: reduce)').matches ? 0 : 400)
  }
  const wait = (): void => { clearTimeout(timer); timer = setTimeout(fade, ENDED_MS) }
  const hold = (): void => { clearTimeout(timer); e.classList.remove('out') }
  e.addEventListener('mouseenter', hold)
  e.addEventListener('focusin', hold)
  e.addEventListener('mouseleave', wait)
  e.addEventListener('focusout', wait)
  wait()
}

export function clear (): void {
  for (const id of ['tandem-consent', 'tandem-control-request', 'tandem-confirm']) close(id)
  for (const id of ['tandem-code', 'tandem-banner', 'tandem-ended']) remove(id)
}

export const serviceClass = SERVICE
