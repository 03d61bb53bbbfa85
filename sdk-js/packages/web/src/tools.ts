// The agents' tools, carried out on the customer's page: their pointer, the laser trail,
// drawings over the page, remote control (clicks, typing, selects and scrolling on the real
// elements, addressed by the recorder's node ids) and navigation. Everything drawn here is a
// service element, which the recorder never sends back to the agents.
import { record } from '@rrweb/record'
import { originMatches } from '@tandem/core'
import * as ui from './ui.js'

/** What the page and the account allow, and how to reach the agents. */
export interface ToolRules {
  /** Whether the agent may not read nor type into this element (redacted or masked). */
  redacted (el: Element): boolean
  /** Whether an agent in control may submit forms. */
  agentSubmit: boolean
  /** Origins (glob patterns) the agent may send the customer to, besides the page's own. */
  navigationOrigins: string[]
  /** Whether the customer has given remote control, now. */
  controlOn (): boolean
  /** Who is acting, for the customer. */
  agentName (): string
  /** Asks the customer; resolves with their answer. */
  confirm (question: string): Promise<boolean>
  /**
   * A navigation that came with Glance's `confirm`: the page's own way of asking (its `confirm`
   * listeners), or null to ask with `confirm`.
   */
  confirmNavigation?: (request: NavigationRequest) => Promise<boolean> | null
  /** Sends an event to the agents. */
  send (event: string, data: unknown): void
}

const SVG = 'http://www.w3.org/2000/svg'
/** How long a laser point stays on screen, in ms. */
const LASER_FADE = 900

type Point = [number, number]

/** Where a page a navigation opens goes (Glance's `open` and `link`). */
export interface NavigationTarget {
  target: '_self' | '_blank'
  /** `window.open`'s features (`open` only). */
  features?: string
}

/** A navigation an agent asked for, as the page's `confirm` listeners see it. */
export interface NavigationRequest {
  action: 'back' | 'forward' | 'refresh' | 'url'
  /** The page to open, resolved against this one (`url` only). */
  url: string | null
  /** What the agent gave as `confirm` (e.g. words for the question). */
  confirm: Record<string, unknown>
  /** Open the page with `window.open` in this target. */
  open: NavigationTarget | null
  /** Open the page by clicking a link with this target. */
  link: NavigationTarget | null
}

/** Glance's `open` / `link` of a navigation, checked; undefined when absent, a reason when bad. */
function navigationTarget (value: unknown, withFeatures: boolean): NavigationTarget | undefined | string {
  if (value == null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) return 'not an object'
  const { target = '_self', features } = value as { target?: unknown, features?: unknown }
  if (target !== '_self' && target !== '_blank') return 'its target is not _self or _blank'
  if (features == null) return { target }
  if (!withFeatures || typeof features !== 'string' || features.length > 200) return 'its features are not a short string'
  return { target, features }
}

/** The tools' layer over the page: created when first needed, removed at the end. */
class Overlay {
  readonly svg: SVGSVGElement
  /** Drawings, in document coordinates: they move with the page as it scrolls. */
  readonly drawings: SVGGElement
  readonly laser: SVGPolylineElement
  readonly pointer: HTMLElement
  readonly #onScroll = (): void => this.follow()

  constructor () {
    this.svg = document.createElementNS(SVG, 'svg')
    this.svg.id = 'tandem-overlay'
    this.svg.setAttribute('class', ui.serviceClass)
    this.svg.setAttribute('style', 'position:fixed;left:0;top:0;width:100vw;height:100vh;' +
      'pointer-events:none;z-index:2147483646;overflow:visible')
    this.drawings = document.createElementNS(SVG, 'g')
    this.drawings.id = 'tandem-drawing'
    this.laser = document.createElementNS(SVG, 'polyline')
    this.laser.id = 'tandem-laser'
    for (const [k, v] of Object.entries({ fill: 'none', stroke: '#ef4444', 'stroke-width': '5', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })) {
      this.laser.setAttribute(k, v)
    }
    this.svg.append(this.drawings, this.laser)
    this.pointer = document.createElement('div')
    this.pointer.id = 'tandem-agent-pointer'
    this.pointer.className = ui.serviceClass
    this.pointer.setAttribute('style', 'position:fixed;left:0;top:0;display:none;pointer-events:none;' +
      'z-index:2147483647;font:12px/1.2 system-ui,sans-serif;color:#fff;white-space:nowrap')
    document.documentElement.append(this.svg, this.pointer)
    addEventListener('scroll', this.#onScroll, { passive: true })
    this.follow()
  }

  follow (): void {
    this.drawings.setAttribute('transform', `translate(${-scrollX} ${-scrollY})`)
  }

  remove (): void {
    removeEventListener('scroll', this.#onScroll)
    this.svg.remove()
    this.pointer.remove()
  }
}

function isSubmit (el: Element): boolean {
  if (el instanceof HTMLButtonElement) return el.type === 'submit' && el.form !== null
  return el instanceof HTMLInputElement && (el.type === 'submit' || el.type === 'image') && el.form !== null
}

function number (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** The nearest element from `el` up that can scroll by (dx, dy); null for the page itself. */
function scroller (el: Element | null, dx: number, dy: number): Element | null {
  for (; el && el !== document.documentElement && el !== document.body; el = el.parentElement) {
    const style = getComputedStyle(el)
    const canY = dy !== 0 && /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight
    const canX = dx !== 0 && /(auto|scroll)/.test(style.overflowX) && el.scrollWidth > el.clientWidth
    if (canX || canY) return el
  }
  return null
}

export class Tools {
  readonly #rules: ToolRules
  #overlay: Overlay | null = null
  #laser: Array<{ x: number, y: number, t: number }> = []
  #laserFrame = 0
  #pointerTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * The element the agent last clicked, by the id they used: keys typed after the recorder's
   * periodic new snapshot (which renumbers every node) still reach it.
   */
  #clicked: { id: number, el: WeakRef<Element> } | null = null
  /** Set while the SDK dispatches an agent's action, so the page's own submits stay free. */
  #acting = false
  readonly #onSubmit = (e: Event): void => {
    if (this.#acting && !this.#rules.agentSubmit) {
      e.preventDefault()
      this.#refuse('submit', 'the account does not let agents submit forms')
    }
  }

  /** The page's address without its #fragment: drawings belong to one page. */
  #page = location.href.split('#')[0]
  /**
   * The page moved on without loading another (a single-page app's navigation): what was drawn
   * over the last page goes, here and in the agents' viewers. (A page load clears it anyway.)
   */
  readonly #onNavigate = (): void => {
    const page = location.href.split('#')[0]
    if (page === this.#page) return
    this.#page = page
    if (!this.#overlay?.drawings.childElementCount) return
    this.#overlay.drawings.replaceChildren()
    this.#rules.send('drawings-cleared', { reason: 'navigation' })
  }

  constructor (rules: ToolRules) {
    this.#rules = rules
    addEventListener('submit', this.#onSubmit, true)
    addEventListener('popstate', this.#onNavigate)
    ;(window as { navigation?: EventTarget }).navigation?.addEventListener('currententrychange', this.#onNavigate)
  }

  get #layer (): Overlay {
    this.#overlay ??= new Overlay()
    return this.#overlay
  }

  /** An event from the agents' side of the stream; false when it is not a tool's. */
  handle (event: string, data: any): boolean {
    switch (event) {
      case 'pointer': this.#pointer(data); break
      case 'laser': this.#laserPoint(data); break
      case 'drawing': this.#drawing(data); break
      case 'control': this.#control(data); break
      case 'navigate': void this.#navigate(data); break
      default: return false
    }
    return true
  }

  /** The session ended: everything the agents put on the page goes. */
  stop (): void {
    removeEventListener('submit', this.#onSubmit, true)
    removeEventListener('popstate', this.#onNavigate)
    ;(window as { navigation?: EventTarget }).navigation?.removeEventListener('currententrychange', this.#onNavigate)
    cancelAnimationFrame(this.#laserFrame)
    clearTimeout(this.#pointerTimer)
    this.#overlay?.remove()
    this.#overlay = null
  }

  #pointer (data: any): void {
    const el = this.#layer.pointer
    if (!data || typeof data.x !== 'number') {
      el.style.display = 'none'
      return
    }
    const colour = typeof data.colour === 'string' && /^#[0-9a-f]{3,8}$/i.test(data.colour) ? data.colour : '#4f46e5'
    el.style.display = 'block'
    el.style.transform = `translate(${number(data.x)}px, ${number(data.y)}px)`
    el.replaceChildren()
    const dot = document.createElement('span')
    dot.setAttribute('style', `display:inline-block;width:12px;height:12px;border-radius:50%;background:${colour};` +
      'border:2px solid #fff;box-shadow:0 0 2px rgba(0,0,0,.6);vertical-align:middle')
    const label = document.createElement('span')
    label.textContent = this.#rules.agentName()
    label.setAttribute('style', `margin-left:4px;padding:1px 5px;border-radius:4px;background:${colour}`)
    el.append(dot, label)
    clearTimeout(this.#pointerTimer)
    this.#pointerTimer = setTimeout(() => { el.style.display = 'none' }, 5000)
  }

  #laserPoint (data: any): void {
    if (!data || typeof data.x !== 'number') return
    // In the agent's colour, as they see it themselves.
    if (typeof data.colour === 'string' && /^#[0-9a-f]{6}$/i.test(data.colour)) this.#layer.laser.setAttribute('stroke', data.colour)
    this.#laser.push({ x: number(data.x), y: number(data.y), t: performance.now() })
    if (!this.#laserFrame) this.#laserFrame = requestAnimationFrame(() => this.#fade())
  }

  /** Redraws the laser trail without its faded points, frame after frame until it is gone. */
  #fade (): void {
    const now = performance.now()
    this.#laser = this.#laser.filter((p) => now - p.t < LASER_FADE)
    const line = this.#layer.laser
    line.setAttribute('points', this.#laser.map((p) => `${p.x},${p.y}`).join(' '))
    const newest = this.#laser[this.#laser.length - 1]
    line.setAttribute('opacity', newest ? String(1 - (now - newest.t) / LASER_FADE) : '0')
    this.#laserFrame = this.#laser.length ? requestAnimationFrame(() => this.#fade()) : 0
  }

  /** `{id, colour, points}` (a stroke so far, in document coordinates) or `{clear: true}`. */
  #drawing (data: any): void {
    const layer = this.#layer
    if (!data || data.clear || data.drawing === null) {
      layer.drawings.replaceChildren()
      return
    }
    const id = `tandem-stroke-${String(data.id).replace(/[^\w-]/g, '').slice(0, 40)}`
    const points: Point[] = Array.isArray(data.points) ? data.points.slice(0, 5000) : []
    let line = layer.drawings.querySelector<SVGPolylineElement>(`#${id}`)
    if (!line) {
      line = document.createElementNS(SVG, 'polyline')
      line.id = id
      line.setAttribute('fill', 'none')
      line.setAttribute('stroke-width', '4')
      line.setAttribute('stroke-linecap', 'round')
      line.setAttribute('stroke-linejoin', 'round')
      layer.drawings.appendChild(line)
    }
    line.setAttribute('stroke', typeof data.colour === 'string' && /^#[0-9a-f]{3,8}$/i.test(data.colour) ? data.colour : '#ef4444')
    line.setAttribute('points', points.map((p) => `${number(p?.[0])},${number(p?.[1])}`).join(' '))
  }

  #refuse (action: string, reason: string): void {
    this.#rules.send('control-refused', { action, reason })
  }

  /** Runs an agent's action on the page, with submits blocked unless the account allows them. */
  #act (run: () => void): void {
    this.#acting = true
    try { run() } finally { this.#acting = false }
  }

  /** `{action, id, …}`: a click, key, select or wheel from an agent in control. */
  #control (data: any): void {
    const action = String(data?.action ?? '')
    if (!this.#rules.controlOn()) return this.#refuse(action, 'the customer has not given control')
    const id = number(data.id)
    const node = record.mirror.getNode(id)
    let el = node instanceof Element ? node : node?.parentElement ?? null
    if (!el && action === 'key' && this.#clicked?.id === id) el = this.#clicked.el.deref() ?? null
    if (!el || !el.isConnected) return this.#refuse(action, 'that element is no longer on the page')
    if (this.#rules.redacted(el)) return this.#refuse(action, 'that element is private')
    switch (action) {
      case 'click':
        this.#clicked = { id, el: new WeakRef(el) }
        return this.#click(el, number(data.x), number(data.y))
      case 'key': return this.#key(el, String(data.key ?? ''))
      case 'select': return this.#select(el, String(data.value ?? ''))
      case 'wheel': return this.#wheel(el, number(data.dx), number(data.dy))
      default: return this.#refuse(action, 'unknown action')
    }
  }

  #click (el: Element, x: number, y: number): void {
    if (isSubmit(el) && !this.#rules.agentSubmit) {
      return this.#refuse('click', 'the account does not let agents submit forms')
    }
    const at = { bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, view: window }
    this.#act(() => {
      el.dispatchEvent(new PointerEvent('pointerdown', at))
      el.dispatchEvent(new MouseEvent('mousedown', at))
      if (el instanceof HTMLElement) el.focus({ preventScroll: true })
      el.dispatchEvent(new PointerEvent('pointerup', at))
      el.dispatchEvent(new MouseEvent('mouseup', at))
      if (el instanceof HTMLElement) el.click()
      else el.dispatchEvent(new MouseEvent('click', at))
    })
  }

  #key (el: Element, key: string): void {
    if (!key || key.length > 20) return this.#refuse('key', 'not a key')
    const keyboard = { key, bubbles: true, cancelable: true, composed: true }
    this.#act(() => {
      if (!el.dispatchEvent(new KeyboardEvent('keydown', keyboard))) return
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) this.#edit(el, key)
      else if (el instanceof HTMLElement && el.isContentEditable) {
        el.focus()
        if (key.length === 1) document.execCommand('insertText', false, key)
        else if (key === 'Backspace') document.execCommand('delete')
        else if (key === 'Enter') document.execCommand('insertParagraph')
      }
      el.dispatchEvent(new KeyboardEvent('keyup', keyboard))
    })
  }

  /** Types one key into a text field, where its caret is, as the browser would. */
  #edit (el: HTMLInputElement | HTMLTextAreaElement, key: string): void {
    if (el.disabled || el.readOnly) return this.#refuse('key', 'that field cannot be changed')
    if (key === 'Enter' && el instanceof HTMLInputElement) {
      // Implicit submission, as Enter in a form's field does.
      if (!el.form) return
      if (!this.#rules.agentSubmit) return this.#refuse('key', 'the account does not let agents submit forms')
      el.form.requestSubmit()
      return
    }
    const text = key === 'Enter' ? '\n' : key.length === 1 ? key : null
    if (text === null && key !== 'Backspace' && key !== 'Delete') return
    let start = el.value.length
    let end = start
    try {
      start = el.selectionStart ?? start
      end = el.selectionEnd ?? end
    } catch {
      // Email and number fields have no selection: type at the end.
    }
    if (text === null && start === end) {
      if (key === 'Backspace' && start > 0) start -= 1
      else if (key === 'Delete' && end < el.value.length) end += 1
    }
    const value = el.value.slice(0, start) + (text ?? '') + el.value.slice(end)
    el.value = value
    const caret = start + (text?.length ?? 0)
    try { el.setSelectionRange(caret, caret) } catch { /* no selection in this field */ }
    el.dispatchEvent(new InputEvent('input', {
      bubbles: true,
      composed: true,
      inputType: text === null ? (key === 'Backspace' ? 'deleteContentBackward' : 'deleteContentForward') : 'insertText',
      data: text
    }))
  }

  #select (el: Element, value: string): void {
    if (!(el instanceof HTMLSelectElement)) return this.#refuse('select', 'not a select')
    if (el.disabled) return this.#refuse('select', 'that field cannot be changed')
    if (![...el.options].some((o) => o.value === value)) return this.#refuse('select', 'no such option')
    this.#act(() => {
      el.value = value
      el.dispatchEvent(new Event('input', { bubbles: true, composed: true }))
      el.dispatchEvent(new Event('change', { bubbles: true }))
    })
  }

  #wheel (el: Element, dx: number, dy: number): void {
    const target = scroller(el, dx, dy)
    if (target) target.scrollBy(dx, dy)
    else scrollBy(dx, dy)
  }

  /** `{id, action: back|forward|refresh|url, url?}`: answered with `navigation {id, status}`. */
  async #navigate (data: any): Promise<void> {
    const action = String(data?.action ?? '')
    const reply = (status: 'done' | 'refused' | 'failed', reason?: string): void => {
      this.#rules.send('navigation', { id: data?.id ?? null, action, url: data?.url ?? null, status, reason: reason ?? null })
    }
    const open = navigationTarget(data?.open, true)
    const link = navigationTarget(data?.link, false)
    if (typeof open === 'string') return reply('refused', `open: ${open}`)
    if (typeof link === 'string') return reply('refused', `link: ${link}`)
    if (open && link) return reply('refused', 'give open or link, not both')
    if ((open || link) && action !== 'url') return reply('refused', 'open and link go with a url')
    const confirm = data?.confirm && typeof data.confirm === 'object' && !Array.isArray(data.confirm) ? data.confirm : null
    let target: URL | null = null
    if (action === 'url') {
      try {
        target = new URL(String(data.url ?? ''), location.href)
      } catch {
        return reply('refused', 'not a URL')
      }
      if (target.protocol !== 'https:' && target.protocol !== 'http:') return reply('refused', 'not a web address')
      if (target.origin !== location.origin && !originMatches(this.#rules.navigationOrigins, target.origin)) {
        return reply('refused', `${target.origin} is not a site agents may send customers to`)
      }
    } else if (!['back', 'forward', 'refresh'].includes(action)) {
      return reply('refused', 'unknown navigation')
    }
    if (!this.#rules.controlOn()) {
      const what = target ? `open ${target.href}` : action === 'refresh' ? 'reload this page' : `go ${action}`
      const question = `${this.#rules.agentName()} would like to ${what}.`
      // Asked with Glance's `confirm`: the page's own listeners answer, when it has any.
      const request: NavigationRequest = { action: action as NavigationRequest['action'], url: target?.href ?? null, confirm: confirm ?? {}, open: open ?? null, link: link ?? null }
      const asked = confirm ? this.#rules.confirmNavigation?.(request) ?? null : null
      if (!await (asked ?? this.#rules.confirm(question))) {
        return reply('refused', 'the customer declined')
      }
    }
    reply('done')
    // Let the answer leave before the page does.
    setTimeout(() => {
      try {
        if (action === 'back') history.back()
        else if (action === 'forward') history.forward()
        else if (action === 'refresh') location.reload()
        else if (target && open) {
          // A new tab does not carry this tab's session (nor its storage) with it.
          const features = open.target === '_blank' ? [open.features, 'noopener'].filter(Boolean).join(',') : open.features
          window.open(target.href, open.target, features)
        }
        else if (target && link) {
          const a = document.createElement('a')
          a.href = target.href
          a.target = link.target
          a.rel = 'noopener'
          a.className = ui.serviceClass
          a.hidden = true
          document.body.append(a)
          a.click()
          a.remove()
        } else if (target) location.assign(target.href)
      } catch (e) {
        reply('failed', (e as Error).message)
      }
    }, 100)
  }
}
