// The Genesys-style built-in UI, for pages that keep it (`disableBuiltInUI: false`): the
// Co-browse button on the left edge (shown once the primary media is ready), the question "Are you on the phone
// with a representative?" when no chat can carry the token, and the session number while the
// session waits for the agent. What follows (consent, the indicator while the page is shared,
// the note when it ends) is the Tandem SDK's own UI. It lives in a shadow root whose host is a
// service element: agents never see it.
import { serviceClass, TOKENS } from '../ui.js'
import { type GenesysMessages, genesysMessages } from './messages.js'

const STYLE = `:host{all:initial;${TOKENS}}
*{box-sizing:border-box}
.root{font:var(--t-text-md)/var(--t-leading) var(--t-font);color:var(--t-text)}
.card{position:fixed;left:16px;bottom:16px;z-index:2147483646}
button{font:inherit;font-weight:var(--t-weight-medium);border-radius:var(--t-radius);padding:8px 16px;min-height:40px;cursor:pointer;border:1px solid var(--t-border);background:var(--t-surface);color:var(--t-text)}
button:hover{background:var(--t-surface-sunken)}
button.primary{background:var(--t-accent);border-color:var(--t-accent);color:var(--t-text-inverse)}
button.primary:hover{background:var(--t-accent-hover)}
button:focus-visible{outline:none;box-shadow:0 0 0 2px var(--t-surface),0 0 0 5px var(--t-focus)}
/* A tab on the left edge, as Genesys placed it: clear of the SDK's notes at the bottom right. */
.launch{position:fixed;left:0;top:50%;transform:translateY(-50%);z-index:2147483646;box-shadow:var(--t-shadow-lg);border-radius:0 var(--t-radius-lg) var(--t-radius-lg) 0;padding:12px 16px}
.card{width:min(360px,calc(100vw - 32px));background:var(--t-surface);border:1px solid var(--t-border);border-radius:var(--t-radius-lg);box-shadow:var(--t-shadow-lg);padding:var(--t-space-4)}
.card p{margin:0 0 var(--t-space-2)}
.card .title{font-weight:var(--t-weight-bold)}
.muted{color:var(--t-text-muted);font-size:var(--t-text-sm)}
.token{display:block;font-size:28px;letter-spacing:2px;font-weight:var(--t-weight-bold);font-variant-numeric:tabular-nums;margin:var(--t-space-1) 0 var(--t-space-2)}
.actions{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:var(--t-space-2);margin-top:var(--t-space-4)}
dialog{width:min(440px,calc(100vw - 32px));max-height:calc(100vh - 32px);overflow:auto;border:1px solid var(--t-border);border-radius:var(--t-radius-lg);box-shadow:var(--t-shadow-lg);padding:var(--t-space-5);background:var(--t-surface);color:var(--t-text);font:var(--t-text-md)/var(--t-leading) var(--t-font)}
dialog::backdrop{background:rgb(16 24 40 / 45%)}
h2{font-size:var(--t-text-lg);font-weight:var(--t-weight-bold);line-height:1.3;margin:0 0 var(--t-space-3)}
dialog p{margin:0}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}`

/** The UI: one shadow root, created when first shown. */
export class GenesysUI {
  readonly #t: GenesysMessages
  readonly #lang: string
  #root: ShadowRoot | null = null

  constructor (locale?: string) {
    const { lang, t } = genesysMessages(locale)
    this.#lang = lang
    this.#t = t
  }

  get #shadow (): ShadowRoot {
    if (this.#root?.host.isConnected) return this.#root
    const host = document.createElement('div')
    host.id = 'tandem-genesys-ui'
    host.className = serviceClass
    host.lang = this.#lang
    host.setAttribute('style', 'position:fixed;z-index:2147483646;left:0;bottom:0;width:0;height:0')
    this.#root = host.attachShadow({ mode: 'open' })
    const style = document.createElement('style')
    style.textContent = STYLE
    const root = document.createElement('div')
    root.className = 'root'
    this.#root.append(style, root)
    document.body.appendChild(host)
    return this.#root
  }

  #place (e: HTMLElement): HTMLElement {
    const shadow = this.#shadow
    shadow.getElementById(e.id)?.remove()
    ;(shadow.querySelector('.root') as HTMLElement).append(e)
    return e
  }

  #remove (id: string): void {
    this.#root?.getElementById(id)?.remove()
  }

  /** The Co-browse button; `press` runs when the customer presses it. */
  showButton (press: () => void): void {
    this.clear()
    const b = el('button', { id: 'gcb-button', type: 'button', class: 'launch primary' }, this.#t.button)
    b.addEventListener('click', press)
    this.#place(b)
  }

  /** Asks whether the customer is on the phone with a representative. */
  askPhone (): Promise<boolean> {
    const t = this.#t
    return new Promise((resolve) => {
      const d = el('dialog', { id: 'gcb-phone', 'aria-labelledby': 'gcb-phone-title', 'aria-describedby': 'gcb-phone-text' })
      d.append(el('h2', { id: 'gcb-phone-title' }, t.phoneTitle), el('p', { id: 'gcb-phone-text' }, t.phoneText))
      let answer = false
      const yes = el('button', { type: 'button', class: 'primary' }, t.yes)
      const no = el('button', { type: 'button' }, t.no)
      yes.addEventListener('click', () => { answer = true; d.close() })
      no.addEventListener('click', () => d.close())
      const actions = el('div', { class: 'actions' })
      actions.append(no, yes)
      d.append(actions)
      // Escape, or any other way of closing it, is a no.
      d.addEventListener('close', () => { d.remove(); resolve(answer) }, { once: true })
      this.#place(d)
      ;(d as HTMLDialogElement).showModal()
      yes.focus()
    })
  }

  /** Says to call or chat first; `dismissed` runs when the customer closes the note. */
  showContactFirst (dismissed: () => void): void {
    this.#note('gcb-contact', this.#t.contactTitle, this.#t.contactText, dismissed)
  }

  /** Says what went wrong (`unsupported` or `failed`). */
  showProblem (what: 'unsupported' | 'failed', dismissed: () => void): void {
    this.#note('gcb-problem', this.#t[what], '', dismissed)
  }

  #note (id: string, title: string, text: string, dismissed: () => void): void {
    this.clear()
    const card = el('div', { id, class: 'card', role: 'status' })
    card.append(el('p', { class: 'title' }, title))
    if (text) card.append(el('p', { class: 'muted' }, text))
    const ok = el('button', { type: 'button', class: 'primary' }, this.#t.ok)
    ok.addEventListener('click', () => { card.remove(); dismissed() })
    const actions = el('div', { class: 'actions' })
    actions.append(ok)
    card.append(actions)
    this.#place(card)
    ok.focus()
  }

  /** The session number for the representative, while the session waits for them. */
  showToken (token: string, sentByChat: boolean, exit: () => void): void {
    this.clear()
    const t = this.#t
    const card = el('div', { id: 'gcb-session', class: 'card', role: 'region', 'aria-label': t.tokenLabel })
    const status = el('div', { role: 'status' })
    status.append(
      el('p', { class: 'muted' }, t.tokenLabel),
      el('b', { id: 'gcb-token', class: 'token' }, token.replace(/^(\d{3})(\d{3})(\d{3})$/, '$1 $2 $3')),
      el('p', {}, sentByChat ? t.tokenSent : t.tokenHint),
      el('p', { class: 'muted' }, t.waiting)
    )
    const leave = el('button', { type: 'button' }, t.exit)
    leave.addEventListener('click', exit)
    const actions = el('div', { class: 'actions' })
    actions.append(leave)
    card.append(status, actions)
    this.#place(card)
  }

  /** Removes everything this UI shows. */
  clear (): void {
    for (const id of ['gcb-button', 'gcb-session', 'gcb-contact', 'gcb-problem']) this.#remove(id)
  }
}

function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text) e.textContent = text
  return e
}
