// What the recorder misses or gets wrong on real pages, mended on the customer's side before an
// event leaves the browser (see issue 19):
// - `url(#id)` references (SVG clip paths, masks, filters, gradients, markers) that rrweb's URL
//   absolutising turned into `<page's directory>/#id`, which the agent's browser cannot resolve;
// - redacted elements the customer cannot see (hidden inputs, `display:none`), which rrweb
//   records as boxes of their size and the replayer would show;
// - values a framework writes through the native setter it kept from before the recorder hooked
//   it (React does): checked after the customer's input, clicks and the page's own changes;
// - the focused field, sent as `tandem-focus` custom events;
// - canvases, captured a few times a second as images (`tandem-canvas`), or, when the page drew
//   another site's image into them (tainted), described so the agent sees a labelled placeholder.
// The viewer's side is packages/viewer/src/fidelity.ts.

/** The parts of rrweb's `record` this uses. */
export interface Recorder {
  mirror: { getId: (n: Node) => number, getNode: (id: number) => Node | null }
  addCustomEvent: (tag: string, payload: unknown) => void
}

/** The privacy rules the recorder runs with (from `recordOptions`). */
export interface Privacy {
  blockClass: string
  blockSelector?: string
  maskInputOptions?: Record<string, boolean | undefined>
}

/** A serialized node, as far as this reads it. */
interface SNode {
  type: number
  id: number
  tagName?: string
  attributes?: Record<string, unknown>
  childNodes?: SNode[]
}

// rrweb's event, source and node type numbers.
const FULL_SNAPSHOT = 2
const INCREMENTAL = 3
const MUTATION = 0
const INPUT = 5
const DOCUMENT = 0
const ELEMENT = 2

/**
 * An absolute URL ending in `/#fragment`: what rrweb 2.1's absolutising makes of `url(#fragment)`
 * (it resolves the fragment as a path against the page's or the stylesheet's directory). An
 * author never means `<directory>/#x` in CSS, so it goes back to the local reference it was.
 */
const FRAGMENT_MADE_ABSOLUTE = /url\((\s*['"]?)(?:https?|file):\/\/[^'")\s#]*\/(#[^'")\s]*)(['"]?\s*)\)/gi

/** `url(<directory>/#id)` back to `url(#id)` in a piece of CSS. */
export function restoreFragmentUrls (css: string): string {
  if (!css.includes('/#')) return css
  return css.replace(FRAGMENT_MADE_ABSOLUTE, 'url($1$2$3)')
}

/** The strings of one serialised node (not its children) with their fragment references restored. */
function restoreNode (sn: any): void {
  for (const key in sn) {
    if (key === 'childNodes') continue
    const v = sn[key]
    if (v && typeof v === 'object') restoreIn(v)
    else if (typeof v === 'string' && v.includes('/#')) sn[key] = restoreFragmentUrls(v)
  }
}

/** Every string in `value` (an event's data) with its fragment references restored, in place. */
function restoreIn (value: any): any {
  if (typeof value === 'string') return restoreFragmentUrls(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i]
      if (v && typeof v === 'object') restoreIn(v)
      else if (typeof v === 'string' && v.includes('/#')) value[i] = restoreFragmentUrls(v)
    }
  } else if (value && typeof value === 'object') {
    for (const key in value) {
      const v = value[key]
      if (v && typeof v === 'object') restoreIn(v)
      else if (typeof v === 'string' && v.includes('/#')) value[key] = restoreFragmentUrls(v)
    }
  }
  return value
}

/** An SVG `href` rrweb made absolute although it pointed into the page (`<textPath href="#p">`). */
function restoreSvgHref (sn: SNode, el: Element): void {
  const attrs = sn.attributes
  if (!attrs || typeof attrs.href !== 'string') return
  const raw = el.getAttribute('href')
  if (raw?.startsWith('#') && attrs.href !== raw) attrs.href = raw
}

/** Whether the customer sees `el` at all (a hidden input, `display:none` here or above). */
/** An element, from this window or a same-origin frame's (where `instanceof` fails). */
function isElement (n: Node | null | undefined): n is Element {
  return n?.nodeType === 1
}

function rendered (el: Element): boolean {
  return el.getClientRects().length > 0
}

/** The SDK's mending of recorded events, and the extra events it sends. */
export class Fidelity {
  readonly #record: Recorder
  readonly #privacy: Privacy
  readonly #send: (e: any, isCheckout?: boolean) => void
  /** What the agent last saw in each field: the value (masked as recorded) and checked state. */
  #values = new WeakMap<Element, string>()
  #fields = new Set<Element>()
  #pending: ReturnType<typeof setTimeout> | undefined
  #stops: Array<() => void> = []
  #focused: string | null = null
  #canvases = new Canvases(this)
  /** Full snapshots' trees mended node by node while the recorder serialised them (`mendNode`). */
  #mended = new WeakSet<SNode>()

  constructor (record: Recorder, privacy: Privacy, send: (e: any, isCheckout?: boolean) => void) {
    this.#record = record
    this.#privacy = privacy
    this.#send = send
  }

  get record (): Recorder { return this.#record }

  /** Whether `el` is redacted, or the SDK's own: nothing of it is read. */
  blocked (el: Element): boolean {
    try {
      if (el.closest(`.${this.#privacy.blockClass}`)) return true
      return Boolean(this.#privacy.blockSelector) && el.closest(this.#privacy.blockSelector as string) !== null
    } catch {
      return true
    }
  }

  /** The emit function to give the recorder. */
  readonly emit = (e: any, isCheckout?: boolean): void => {
    try {
      this.#mend(e)
    } catch {
      // A page the mending cannot read: the event goes as the recorder made it.
    }
    this.#send(e, isCheckout)
    if (e?.type === FULL_SNAPSHOT) {
      // A new snapshot (an agent joined): the focus and canvases again, after it.
      this.#focused = null
      setTimeout(() => { this.#sendFocus(); this.#canvases.resend() }, 0)
    } else if (e?.type === INCREMENTAL && e.data?.source === MUTATION) {
      // The page changed itself: a framework may have rewritten a field's value with it.
      this.#schedule()
    }
  }

  /**
   * Mends one node of a full snapshot (not its children) as the recorder serialises it, in its
   * slices: the snapshot's tree, begun at its document, is then not walked again in one task
   * when its event comes.
   */
  readonly mendNode = (sn: SNode): void => {
    try {
      if (sn.type === DOCUMENT) this.#mended.add(sn)
      this.#mendOne(sn)
      restoreNode(sn)
    } catch {
      // A page the mending cannot read: the node goes as the recorder made it.
    }
  }

  #mend (e: any): void {
    if (e?.type === FULL_SNAPSHOT) {
      const root = e.data?.node
      if (this.#mended.has(root)) {
        // Every node was mended as it was serialised (the rest of the data is the scroll offset).
        this.#mended.delete(root)
        return
      }
      this.#walk(root)
    } else if (e?.type === INCREMENTAL && e.data?.source === MUTATION) {
      for (const add of e.data.adds ?? []) this.#walk(add.node)
      for (const a of e.data.attributes ?? []) {
        const el = this.#record.mirror.getNode(a.id)
        if (isElement(el) && typeof a.attributes?.value === 'string') this.#remember(el, a.attributes.value)
      }
    } else if (e?.type === INCREMENTAL && e.data?.source === INPUT) {
      const el = this.#record.mirror.getNode(e.data.id)
      if (isElement(el)) this.#remember(el, this.#key(e.data.text, e.data.isChecked))
    }
    restoreIn(e?.data)
  }

  /** Each element of a serialized tree: hidden redacted boxes hidden, fields remembered. */
  #walk (root: SNode | undefined): void {
    if (!root) return
    const stack: SNode[] = [root]
    while (stack.length) {
      const sn = stack.pop() as SNode
      if (sn.childNodes) for (const c of sn.childNodes) stack.push(c)
      this.#mendOne(sn)
    }
  }

  /** One serialised element: a hidden redacted box hidden, a field remembered. */
  #mendOne (sn: SNode): void {
    if (sn.type !== ELEMENT) return
    const tag = sn.tagName
    const attrs = sn.attributes
    if (!attrs) return
    if ('rr_width' in attrs) {
      // A redacted element: a box of its size in the mirror, unless the customer cannot see it.
      // An out-of-flow one (a fixed widget) stays out of the flow.
      const el = this.#record.mirror.getNode(sn.id)
      if (!isElement(el)) return
      // The SDK's own interface (its boxes, the agent's laser and drawings over the page) is
      // nothing the agent should see or click on in the mirror.
      if (!rendered(el) || el.classList.contains(this.#privacy.blockClass)) {
        attrs.style = 'display:none'
      } else {
        const position = getComputedStyle(el).position
        const r = el.getBoundingClientRect()
        if (position === 'fixed') attrs.style = `position:fixed;left:${r.left}px;top:${r.top}px;margin:0`
        else if (position === 'absolute') attrs.style = 'position:absolute;margin:0'
      }
      return
    }
    if (tag === 'input' || tag === 'textarea' || tag === 'select') {
      const el = this.#record.mirror.getNode(sn.id)
      if (isElement(el)) {
        const checked = attrs.checked === true || attrs.checked === 'true' || attrs.checked === ''
        this.#remember(el, this.#key(typeof attrs.value === 'string' ? attrs.value : '', checked))
      }
    } else if (typeof attrs.href === 'string' && attrs.href.includes('#')) {
      const el = this.#record.mirror.getNode(sn.id)
      if (isElement(el) && el.namespaceURI === 'http://www.w3.org/2000/svg') restoreSvgHref(sn, el)
    }
  }

  #key (text: unknown, checked: unknown): string {
    return `${checked === true ? '1' : '0'}${String(text ?? '')}`
  }

  #remember (el: Element, key: string): void {
    this.#fields.add(el)
    this.#values.set(el, key)
  }

  /** What the recorder would record for a field now (masked as it masks), or null if nothing. */
  #current (el: Element): { text: string, isChecked: boolean } | null {
    if (!/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || !el.isConnected || this.blocked(el)) return null
    const field = el as HTMLInputElement
    const type = (el.hasAttribute('data-rr-is-password') ? 'password' : field.type ?? '').toLowerCase()
    if (type === 'radio' || type === 'checkbox') return { text: field.value, isChecked: field.checked }
    const mask = this.#privacy.maskInputOptions ?? {}
    let text = field.value
    // A password field's value never leaves the browser, whatever the options say.
    if (type === 'password' || mask[el.tagName.toLowerCase()] || mask[type]) text = '*'.repeat(text.length)
    return { text, isChecked: false }
  }

  /** Sends the value of every field whose value changed without the recorder seeing it. */
  #check (): void {
    this.#pending = undefined
    for (const el of this.#fields) {
      // A field gone from the page is forgotten (it is remembered again if it comes back).
      if (!el.isConnected) { this.#fields.delete(el); continue }
      const now = this.#current(el)
      if (!now) continue
      const key = this.#key(now.text, now.isChecked)
      if (this.#values.get(el) === key) continue
      const id = this.#record.mirror.getId(el)
      if (id < 0) continue
      this.#values.set(el, key)
      this.emit({ type: INCREMENTAL, data: { source: INPUT, id, text: now.text, isChecked: now.isChecked }, timestamp: Date.now() })
    }
  }

  #schedule (): void {
    this.#pending ??= setTimeout(() => this.#check(), 0)
  }

  #sendFocus (): void {
    let el: Element | null = document.activeElement
    // Into open shadow roots and same-origin frames, as far as the recorder follows.
    for (;;) {
      const inner: Element | null | undefined = el?.shadowRoot?.activeElement ??
        (el instanceof HTMLIFrameElement ? safeFrameActive(el) : null)
      if (!inner) break
      el = inner
    }
    let id: number | null = null
    if (el && el !== document.body && el !== document.documentElement && !el.closest(`.${this.#privacy.blockClass}`)) {
      const n = this.#record.mirror.getId(el)
      if (n >= 0) id = n
    }
    // The ring the customer sees, if any: the browser's or the page's outline on the element
    // (a page that removes it, or a dialog, shows none).
    let outline: string | null = null
    let offset = '0px'
    if (id !== null && safeMatches(el as Element, ':focus-visible')) {
      const style = getComputedStyle(el as Element)
      if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) {
        outline = `${style.outlineColor} ${style.outlineStyle} ${style.outlineWidth}`
        offset = style.outlineOffset
      }
    }
    const key = id === null ? '' : `${id} ${outline ?? ''} ${offset}`
    if (key === this.#focused) return
    this.#focused = key
    this.#record.addCustomEvent('tandem-focus', { id, outline, offset })
  }

  /** Starts watching the page (call after `record` started). */
  start (): void {
    const onUser = (): void => this.#schedule()
    const onFocus = (): void => { setTimeout(() => this.#sendFocus(), 0) }
    const user = ['input', 'change', 'keydown', 'keyup', 'click', 'submit', 'reset']
    for (const type of user) document.addEventListener(type, onUser, { capture: true, passive: true })
    document.addEventListener('focusin', onFocus, { capture: true, passive: true })
    document.addEventListener('focusout', onFocus, { capture: true, passive: true })
    this.#stops.push(() => {
      for (const type of user) document.removeEventListener(type, onUser, { capture: true })
      document.removeEventListener('focusin', onFocus, { capture: true })
      document.removeEventListener('focusout', onFocus, { capture: true })
      clearTimeout(this.#pending)
    })
    this.#canvases.start()
    this.#stops.push(() => this.#canvases.stop())
    setTimeout(() => this.#sendFocus(), 0)
  }

  stop (): void {
    for (const stop of this.#stops.splice(0)) stop()
  }
}

function safeFrameActive (frame: HTMLIFrameElement): Element | null {
  try {
    const doc = frame.contentDocument
    const a = doc?.activeElement
    return a && a !== doc.body ? a : null
  } catch {
    return null
  }
}

function safeMatches (el: Element, selector: string): boolean {
  try { return el.matches(selector) } catch { return true }
}

/** Canvas frames per second the agent sees at most. */
export const CANVAS_FPS = 2
/** Canvas images are made at most this many pixels wide or high (scaled down, for the wire). */
const CANVAS_MAX = 1280
const CANVAS_QUALITY = 0.6

/**
 * The page's canvases as images. The recorder's own canvas recording is not used: a canvas the
 * page drew another site's image into (tainted) makes its snapshot throw, losing the whole page,
 * and the replayer's canvases do not render in the viewer's frame, which runs no script. This
 * sends each visible canvas as a WebP image when it changed, at most `CANVAS_FPS` times a second,
 * encoded off the main thread (`toBlob`), and a tainted canvas as such, once.
 */
class Canvases {
  readonly #owner: Fidelity
  #timer: ReturnType<typeof setInterval> | undefined
  #sent = new WeakMap<HTMLCanvasElement, string>()
  #busy = new WeakSet<HTMLCanvasElement>()

  constructor (owner: Fidelity) {
    this.#owner = owner
  }

  start (): void {
    this.#timer = setInterval(() => this.#tick(), 1000 / CANVAS_FPS)
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** After a new snapshot: every canvas again. */
  resend (): void {
    this.#sent = new WeakMap()
    this.#tick()
  }

  #tick (): void {
    if (document.visibilityState === 'hidden') return
    const all = document.getElementsByTagName('canvas')
    for (let i = 0; i < all.length; i++) this.#capture(all[i])
  }

  #capture (canvas: HTMLCanvasElement): void {
    if (this.#busy.has(canvas) || !canvas.width || !canvas.height) return
    const id = this.#owner.record.mirror.getId(canvas)
    if (id < 0 || this.#owner.blocked(canvas)) return
    const r = canvas.getBoundingClientRect()
    if (!r.width || !r.height || r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) return
    const size = { w: canvas.offsetWidth, h: canvas.offsetHeight }
    let source: HTMLCanvasElement = canvas
    const scale = Math.min(1, CANVAS_MAX / Math.max(canvas.width, canvas.height))
    this.#busy.add(canvas)
    try {
      if (scale < 1) {
        // A canvas of its own each time: drawing a tainted canvas into it taints it for good.
        const s = document.createElement('canvas')
        s.width = Math.round(canvas.width * scale)
        s.height = Math.round(canvas.height * scale)
        s.getContext('2d')?.drawImage(canvas, 0, 0, s.width, s.height)
        source = s
      }
      source.toBlob((blob) => {
        if (!blob) return this.#busy.delete(canvas)
        const reader = new FileReader()
        reader.onloadend = () => {
          this.#busy.delete(canvas)
          // Recording stopped meanwhile (nobody watches any more): nothing to send it to.
          if (this.#timer === undefined) return
          const url = typeof reader.result === 'string' ? reader.result : ''
          if (!url || this.#sent.get(canvas) === url) return
          this.#sent.set(canvas, url)
          this.#owner.record.addCustomEvent('tandem-canvas', { id, url, ...size })
        }
        reader.readAsDataURL(blob)
      }, 'image/webp', CANVAS_QUALITY)
    } catch {
      // Tainted: the page drew another site's image into it. Said once, never read.
      this.#busy.delete(canvas)
      if (this.#sent.get(canvas) === 'tainted') return
      this.#sent.set(canvas, 'tainted')
      this.#owner.record.addCustomEvent('tandem-canvas', { id, tainted: true, ...size })
    }
  }
}
