// Tandem's recorder: rrweb's event format (the viewer's @rrweb/replay replays it unchanged), with
// a full snapshot that never holds the customer's main thread for more than a slice (issue 18).
//
// - The full snapshot is serialised node by node (rrweb-snapshot's `serializeNodeWithId` with
//   `skipChild`, into `record.mirror`, so each node is serialised exactly as stock rrweb does),
//   walking the tree ourselves in slices of at most `SLICE_MS`, giving the page the thread back
//   in between.
// - The DOM changes made while the walk runs are queued and sent after the FullSnapshot event:
//   a change under a node the walk has already read becomes a Mutation event, one under a node it
//   has not read yet is read by the walk itself.
// - Redacted subtrees (blockSelector/blockClass) are recorded as stock does (an empty box of the
//   same size); nothing under them is serialised, and a change under them costs one map lookup.
// - The incremental recording of the DOM is ours (a MutationObserver → rrweb Mutation events, a
//   CSSStyleSheet rule observer → StyleSheetRule events, adopted sheets → AdoptedStyleSheet).
//   Pointer, scroll, input, viewport, media and selection events are rrweb's own, from `record`
//   with `recordDOM: false`, which looks node ids up in the same `record.mirror` (in same-origin
//   frames, which it does not watch then, input and scrolling are ours).
import { record } from '@rrweb/record'
import {
  createMirror, getInputType, ignoreAttribute, isNativeShadowDom, isShadowRoot, maskInputValue, needMaskingText,
  serializeNodeWithId, stringifyRule, toLowerCase, transformAttribute
} from 'rrweb-snapshot'
import { masksText, PARENT_OTHER, parentKind, serializeContext, serializeOne } from './serialize.js'
import { SLICE_MS, yieldToPage } from './slice.js'
import { observeAttachShadow } from './shadow.js'
import { observeStyleSheets, type RuleChange } from './styles.js'

export { SLICE_MS } from './slice.js'

// rrweb's event, source and node type numbers.
const META = 4
const FULL_SNAPSHOT = 2
const INCREMENTAL = 3
const MUTATION = 0
const SCROLL = 3
const INPUT = 5
const STYLE_SHEET_RULE = 8
const ADOPTED_STYLE_SHEET = 15
const DOCUMENT_NODE = 0
const ELEMENT_NODE = 2

/** The recorder's privacy rules and sampling: what `recordOptions` in index.ts gives. */
export interface RecorderOptions {
  blockClass: string
  blockSelector?: string
  maskTextSelector?: string
  maskTextFn?: (text: string, element: HTMLElement | null) => string
  maskInputOptions?: Record<string, boolean | undefined>
  sampling?: Record<string, unknown>
  /** A fresh snapshot when an incremental event comes this long after the last one. */
  checkoutEveryNms?: number
}

/** What one full snapshot cost the main thread. */
export interface SnapshotCost {
  /** Nodes serialised. */
  nodes: number
  /** Each slice's time on the main thread, in ms. */
  slices: number[]
  /** From the first slice's start to the FullSnapshot event, in ms (the page ran in between). */
  elapsed: number
}

type Emit = (event: any, isCheckout?: boolean) => void
/** Called with each node of a full snapshot as it is serialised (before its children). */
type Mend = (sn: any) => void
interface Remove { node: Node, parent: Node, isShadow: boolean }

const OBSERVE: MutationObserverInit = {
  childList: true,
  subtree: true,
  attributes: true,
  attributeOldValue: true,
  characterData: true,
  characterDataOldValue: true
}

let warm = false

/**
 * Does ahead, in a task of its own, what the first full snapshot would otherwise do in its first
 * slice: rrweb-snapshot, the first time it reads an element's shadow root, builds a hidden frame
 * for the browser's untouched Element prototype (its check of the page's prototypes always fails
 * for Element, as it looks for querySelector among the accessors), 10–50 ms on the corpus pages.
 * Call it when a recording is likely (an agent asked to join).
 */
export function warmUp (): void {
  if (warm) return
  warm = true
  setTimeout(() => {
    try {
      serializeNodeWithId(document.createElement('span'), {
        doc: document, mirror: createMirror(), blockClass: 'rr-block', blockSelector: null, maskTextClass: 'rr-mask',
        maskTextSelector: null, skipChild: true, slimDOMOptions: {}, newlyAddedElement: true
      } as any)
    } catch { /* the first snapshot does it then */ }
  }, 0)
}

function windowScroll (): { left: number, top: number } {
  const el = document.scrollingElement
  return el ? { left: el.scrollLeft, top: el.scrollTop } : { left: window.pageXOffset, top: window.pageYOffset }
}

export class Recorder {
  /** rrweb's mirror: its observers look ids up in it, and so does fidelity.ts. */
  readonly mirror = record.mirror
  /** What the last full snapshot cost (for the bench). */
  lastSnapshot: SnapshotCost | null = null
  readonly #options: RecorderOptions
  readonly #emit: Emit
  readonly #mendNode: Mend | undefined
  readonly #observer: MutationObserver
  readonly #observed = new WeakSet<Node>()
  #stopRecord: (() => void) | undefined
  #stopHooks: (() => void) | undefined
  #stopped = false
  /** The snapshot being taken, if any: events are queued until its FullSnapshot is sent. */
  #running: Promise<void> | null = null
  /** Whether the walk of a snapshot is under way (events wait for its FullSnapshot). */
  #walking = false
  #queue: Array<[any, boolean | undefined]> = []
  #lastFull = 0
  /** The timestamp of the last event sent: none is sent stamped earlier. */
  #lastOut = 0
  // Changes seen since the last Mutation event.
  #removes: Remove[] = []
  #adds = new Set<Node>()
  #texts = new Set<Node>()
  #attributes = new Map<Element, Set<string>>()
  #textareas = new Set<Element>()
  /** Constructed stylesheets sent (adopted), by id; a snapshot sends them afresh. */
  #styleIds = new WeakMap<CSSStyleSheet, number>()
  #lastStyleId = 0
  /** Same-origin frames' documents whose input and scrolling are listened to. */
  #frames = new WeakSet<Document>()
  #frameStops: Array<() => void> = []
  /** Whether a node was added or removed anywhere since the walk began. */
  #movedDuringWalk = false
  /** Nodes the walk had still to serialise under a parent they were then taken out of. */
  #displaced = new WeakMap<Node, Node>()

  /**
   * `emit` gets each event; `mendNode`, if given, each node of a full snapshot as the walk
   * serialises it (fidelity.ts mends them there, in the walk's slices, not in one task after).
   */
  constructor (options: RecorderOptions, emit: Emit, mendNode?: Mend) {
    this.#options = options
    this.#emit = emit
    this.#mendNode = mendNode
    this.#observer = new MutationObserver((records) => this.#onMutations(records))
  }

  /** Whether a snapshot is being taken. */
  get snapshotting (): boolean {
    return this.#walking
  }

  /** Starts recording: rrweb's observers, ours, then a first full snapshot. */
  start (): Promise<void> {
    this.#stopRecord = record({
      emit: (e: any, isCheckout?: boolean) => this.#fromRrweb(e, isCheckout),
      recordDOM: false,
      blockClass: this.#options.blockClass,
      blockSelector: this.#options.blockSelector,
      maskTextSelector: this.#options.maskTextSelector,
      maskTextFn: this.#options.maskTextFn,
      maskInputOptions: this.#options.maskInputOptions,
      sampling: this.#options.sampling
    } as any)
    const stopStyles = observeStyleSheets((sheet, data) => this.#onStyleRule(sheet, data), (root, sheets) => {
      const host = isShadowRoot(root) ? root.host : root
      const id = this.#idOf(host)
      if (id > 0) this.#adopt(sheets, id)
    })
    // A shadow root attached to a host the agents have: what goes in it is recorded as it comes.
    const stopShadows = observeAttachShadow((host, root) => {
      if (root.mode === 'open' && this.#idOf(host) > 0 && isNativeShadowDom(root)) this.#observe(root)
    })
    this.#stopHooks = () => { stopStyles(); stopShadows() }
    if (document.readyState === 'complete') return this.takeFullSnapshot()
    // As stock rrweb: the first snapshot once the page has loaded.
    return new Promise((resolve) => {
      addEventListener('load', () => { void this.takeFullSnapshot().then(resolve) }, { once: true })
    })
  }

  /** Stops recording and lets the page go: nothing it read is held any more. */
  stop (): void {
    this.#stopped = true
    this.#observer.disconnect()
    this.#stopHooks?.()
    for (const stop of this.#frameStops.splice(0)) stop()
    this.#stopRecord?.()
    this.#queue = []
    this.#removes = []
    this.#adds.clear()
    this.#texts.clear()
    this.#attributes.clear()
    this.#textareas.clear()
    this.#resetMirror()
  }

  /** Forgets every node's id but the document's (1): nodes of the top document carry no root id. */
  #resetMirror (): void {
    const docMeta = this.mirror.getMeta(document)
    this.mirror.reset()
    if (docMeta) this.mirror.add(document, { type: DOCUMENT_NODE, childNodes: [], id: docMeta.id } as any)
  }

  /**
   * Sends the whole page again (Meta and FullSnapshot events), serialised in slices; resolves once
   * it is sent. A snapshot already under way is the one the caller gets (it ends after the call).
   */
  takeFullSnapshot (isCheckout = false): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#running ??= this.#snapshot(isCheckout).finally(() => { this.#running = null })
    return this.#running
  }

  #fromRrweb (e: any, isCheckout?: boolean): void {
    if (this.#walking) this.#queue.push([e, isCheckout])
    else this.#out(e, isCheckout)
  }

  #out (e: any, isCheckout?: boolean): void {
    if (this.#stopped) return
    // An event queued during a snapshot's walk was stamped before the FullSnapshot (and the
    // Mutation event of the walk's time) it now follows: it is played after them, so it is
    // stamped no earlier. A replayer orders events by time: one stamped earlier than the
    // recording's start moves its clock back, and the last events go unplayed.
    if (e.timestamp < this.#lastOut) e.timestamp = this.#lastOut
    this.#lastOut = e.timestamp
    this.#emit(e, isCheckout)
    const every = this.#options.checkoutEveryNms
    if (e.type === INCREMENTAL && every && !this.#running && !this.#walking && e.timestamp - this.#lastFull > every) {
      void this.takeFullSnapshot(true)
    }
  }

  /** Ours while a snapshot is under way: after its FullSnapshot event. */
  #send (e: any): void {
    e.timestamp = Date.now()
    this.#fromRrweb(e)
  }

  #serializeOptions (doc: Document) {
    const o = this.#options
    return {
      doc,
      mirror: this.mirror as any,
      blockClass: o.blockClass,
      blockSelector: o.blockSelector ?? null,
      maskTextClass: 'rr-mask',
      maskTextSelector: o.maskTextSelector ?? null,
      skipChild: true,
      inlineStylesheet: true,
      maskInputOptions: o.maskInputOptions ?? { password: true },
      maskTextFn: o.maskTextFn,
      maskInputFn: undefined,
      slimDOMOptions: {},
      dataURLOptions: {},
      inlineImages: false,
      recordCanvas: false,
      preserveWhiteSpace: true,
      newlyAddedElement: false,
      needsMask: false,
      cssCaptured: false,
      keepIframeSrcFn: () => false,
      onSerialize: (n: Node) => this.#onSerialize(n),
      onIframeLoad: (iframe: HTMLIFrameElement, sn: any) => this.#onIframeLoad(iframe, sn),
      onStylesheetLoad: (link: HTMLLinkElement, sn: any) => this.#onStylesheetLoad(link, sn)
    }
  }

  async #snapshot (isCheckout: boolean): Promise<void> {
    // Changes to the page the agents have now go first; then ids start afresh.
    this.#flush()
    // The document keeps its id (1), as in stock rrweb.
    this.#resetMirror()
    this.#displaced = new WeakMap()
    this.#movedDuringWalk = false
    this.#styleIds = new WeakMap()
    this.#lastStyleId = 0
    this.#observe(document)
    this.#walking = true
    try {
      await this.#walk(isCheckout)
    } finally {
      this.#walking = false
    }
    if (this.#stopped) return
    // What happened meanwhile, in order: the page's changes, then the rest.
    this.#flush()
    for (const [e, checkout] of this.#queue.splice(0)) this.#out(e, checkout)
  }

  async #walk (isCheckout: boolean): Promise<void> {
    // The walk's slices are tasks of their own, not the end of the task that asked for it (the
    // recording's start: its observers, the socket).
    await yieldToPage()
    if (this.#stopped) return
    const options = this.#serializeOptions(document)
    const slices: number[] = []
    const began = performance.now()
    let sliceStart = began
    const root = serializeNodeWithId(document, options) as any
    if (!root) return
    const mend = this.#mendNode
    mend?.(root)
    const ctx = serializeContext(options, this.mirror as any)
    // What the walk has still to serialise, in four stacks (no object per node): the node, its
    // parent in the page (a shadow root for a shadow root's children), its parent's serialised
    // node, and whether its text is masked (+1) / its text is the parent's captured CSS (+2),
    // with the kind of parent it has (`parentKind`, times 4).
    const nodes: Node[] = []
    const parents: Node[] = []
    const into: any[] = []
    const flags: number[] = []
    const shadowHosts: Element[] = []
    const expand = (node: Node, sn: any, masked: boolean): void => {
      if (sn.type === ELEMENT_NODE) {
        if ('rr_width' in sn.attributes) return
        if (sn.tagName === 'textarea' && sn.attributes.value !== undefined) return
        const shadow = (node as Element).shadowRoot
        if (shadow) {
          if (shadow.adoptedStyleSheets?.length) shadowHosts.push(node as Element)
          const flag = (masked ? 1 : 0) | (PARENT_OTHER << 2)
          for (let c = shadow.lastChild; c; c = c.previousSibling) {
            nodes.push(c); parents.push(shadow); into.push(sn); flags.push(flag)
          }
        }
      }
      const css = sn.type === ELEMENT_NODE && typeof sn.attributes._cssText === 'string' ? 2 : 0
      const flag = (masked ? 1 : 0) | css | (parentKind(node) << 2)
      for (let c = node.lastChild; c; c = c.previousSibling) {
        nodes.push(c); parents.push(node); into.push(sn); flags.push(flag)
      }
    }
    expand(document, root, false)
    let count = 1
    while (nodes.length) {
      const node = nodes.pop() as Node
      const parent = parents.pop() as Node
      const sn = into.pop()
      const flag = flags.pop() as number
      // Only once the page has moved nodes since the walk began can one be where the walk did
      // not expect it (on a page at rest, no lookups).
      if (this.#movedDuringWalk) {
        // Taken out of its parent since the walk read the parent: the Mutation events say where it went.
        if (node.parentNode !== parent || this.#displaced.get(node) === parent) continue
        // Moved here after the walk had serialised it elsewhere: moved by a Mutation event too.
        if (this.#idOf(node) > 0) {
          this.#adds.add(node)
          continue
        }
      }
      const masked = (flag & 1) !== 0
      const child = serializeOne(ctx, node, masked, (flag & 2) !== 0, flag >> 2)
      if (!child) continue
      mend?.(child)
      sn.childNodes.push(child)
      count++
      if (child.type === ELEMENT_NODE) expand(node, child, masked || masksText(node as Element, child, options.maskTextSelector))
      if ((count & 31) === 0) {
        const now = performance.now()
        if (now - sliceStart >= SLICE_MS) {
          slices.push(now - sliceStart)
          await yieldToPage()
          if (this.#stopped) return
          sliceStart = performance.now()
        }
      }
    }
    const now = Date.now()
    this.#lastFull = now
    this.#out({
      type: META,
      data: { href: location.href, width: innerWidth || document.documentElement.clientWidth, height: innerHeight || document.documentElement.clientHeight },
      timestamp: now
    }, isCheckout)
    this.#out({ type: FULL_SNAPSHOT, data: { node: root, initialOffset: windowScroll() }, timestamp: now }, isCheckout)
    // The constructed sheets the document and its shadow roots adopted (sent after the snapshot).
    this.#adopt(document.adoptedStyleSheets ?? [], root.id)
    for (const host of shadowHosts) {
      const shadow = host.shadowRoot
      const id = this.#idOf(host)
      if (shadow && id > 0) this.#adopt(shadow.adoptedStyleSheets ?? [], id)
    }
    slices.push(performance.now() - sliceStart)
    this.lastSnapshot = { nodes: count, slices, elapsed: performance.now() - began }
  }

  #observe (root: Node): void {
    if (this.#observed.has(root)) return
    this.#observed.add(root)
    this.#observer.observe(root, OBSERVE)
  }

  #onSerialize (n: Node): void {
    const shadow = (n as Element).shadowRoot
    if (shadow && isNativeShadowDom(shadow)) this.#observe(shadow)
  }

  /** A same-origin frame's document, serialised by rrweb-snapshot when the frame has loaded. */
  #onIframeLoad (iframe: HTMLIFrameElement, sn: any): void {
    const id = this.#idOf(iframe)
    if (id < 0) return
    const doc = iframe.contentDocument
    if (doc) {
      this.#observe(doc)
      this.#listenInFrame(doc)
    }
    this.#send({
      type: INCREMENTAL,
      data: { source: MUTATION, adds: [{ parentId: id, nextId: null, node: sn }], removes: [], texts: [], attributes: [], isAttachIframe: true }
    })
  }

  /**
   * What the customer types and scrolls in a same-origin frame: rrweb's observers (recordDOM:
   * false) watch the top document only, so Input and Scroll events from frames are made here,
   * as rrweb makes them (values masked as it masks them; a scroll at most once a frame).
   */
  #listenInFrame (doc: Document): void {
    if (this.#frames.has(doc)) return
    this.#frames.add(doc)
    const onInput = (e: Event): void => {
      const el = e.target as HTMLInputElement
      if (!el || !/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) return
      const id = this.#idOf(el)
      if (id < 0 || this.#blocked(el)) return
      const type = getInputType(el)
      const checkable = type === 'radio' || type === 'checkbox'
      const text = checkable ? el.value : this.#maskValue(el, el.value)
      this.#send({ type: INCREMENTAL, data: { source: INPUT, id, text, isChecked: checkable ? el.checked : false } })
    }
    const pending = new Set<Node>()
    const onScroll = (e: Event): void => {
      const target = e.target as Node
      if (!target || pending.has(target)) return
      pending.add(target)
      requestAnimationFrame(() => {
        pending.delete(target)
        const id = this.#idOf(target)
        if (id < 0) return
        const el = target.nodeType === 9 ? (target as Document).scrollingElement : target as Element
        if (el) this.#send({ type: INCREMENTAL, data: { source: SCROLL, id, x: el.scrollLeft, y: el.scrollTop } })
      })
    }
    const options = { capture: true, passive: true }
    doc.addEventListener('input', onInput, options)
    doc.addEventListener('change', onInput, options)
    doc.addEventListener('scroll', onScroll, options)
    this.#frameStops.push(() => {
      doc.removeEventListener('input', onInput, options)
      doc.removeEventListener('change', onInput, options)
      doc.removeEventListener('scroll', onScroll, options)
    })
  }

  /** A stylesheet link that had not loaded when serialised: its rules, once they are there. */
  #onStylesheetLoad (_link: HTMLLinkElement, sn: any): void {
    if (!('_cssText' in (sn.attributes ?? {}))) return
    this.#send({
      type: INCREMENTAL,
      data: { source: MUTATION, adds: [], removes: [], texts: [], attributes: [{ id: sn.id, attributes: sn.attributes }] }
    })
  }

  #onStyleRule (sheet: CSSStyleSheet, data: RuleChange): void {
    const owner = sheet.ownerNode
    if (owner) {
      const id = this.#idOf(owner)
      if (id > 0) this.#send({ type: INCREMENTAL, data: { source: STYLE_SHEET_RULE, id, ...data } })
      return
    }
    // A constructed sheet, by the id it was sent with when adopted.
    const styleId = this.#styleIds.get(sheet)
    if (styleId !== undefined) this.#send({ type: INCREMENTAL, data: { source: STYLE_SHEET_RULE, styleId, ...data } })
  }

  /**
   * The constructed sheets adopted by the document or shadow root of node `hostId` (as stock
   * rrweb sends them): each sheet's rules the first time it is sent, its id after that.
   */
  #adopt (sheets: readonly CSSStyleSheet[], hostId: number): void {
    if (!sheets.length) return
    const styleIds: number[] = []
    const styles: any[] = []
    for (const sheet of sheets) {
      let styleId = this.#styleIds.get(sheet)
      if (styleId === undefined) {
        styleId = ++this.#lastStyleId
        this.#styleIds.set(sheet, styleId)
        styles.push({ styleId, rules: Array.from(sheet.cssRules, (r, index) => ({ rule: stringifyRule(r, sheet.href), index })) })
      }
      styleIds.push(styleId)
    }
    this.#send({ type: INCREMENTAL, data: { source: ADOPTED_STYLE_SHEET, id: hostId, styleIds, ...(styles.length ? { styles } : {}) } })
  }

  /** `n`'s id if the agents have it (serialised and not removed since), else -1. */
  #idOf (n: Node): number {
    const id = this.mirror.getId(n)
    return id > 0 && this.mirror.getNode(id) === n ? id : -1
  }

  /** Whether `n` is recorded as a redacted box (nothing under it is recorded). */
  #blocked (n: Node): boolean {
    const meta = this.mirror.getMeta(n) as any
    return meta?.type === ELEMENT_NODE && 'rr_width' in meta.attributes
  }

  #onMutations (records: MutationRecord[]): void {
    if (this.#stopped) return
    this.#collect(records)
    if (!this.#walking) this.#flush()
  }

  /**
   * Notes what each change touched, in O(1) per node for changes under a node the agents do not
   * have (a redacted subtree, or one the walk has not read yet).
   */
  #collect (records: MutationRecord[]): void {
    const snapshotting = this.#walking
    for (const m of records) {
      const t = m.target
      if (m.type === 'childList') {
        if (snapshotting) this.#movedDuringWalk = true
        const host = isShadowRoot(t) ? t.host : t
        if (this.#idOf(host) < 0 || this.#blocked(host)) continue
        if (host.nodeName === 'TEXTAREA') {
          this.#textareas.add(host as Element)
          continue
        }
        const isShadow = isShadowRoot(t) && isNativeShadowDom(t)
        for (let i = 0; i < m.removedNodes.length; i++) {
          const n = m.removedNodes[i]
          if (this.#idOf(n) > 0) this.#removes.push({ node: n, parent: host, isShadow })
          else if (snapshotting) this.#displaced.set(n, t)
        }
        for (let i = 0; i < m.addedNodes.length; i++) this.#adds.add(m.addedNodes[i])
      } else if (m.type === 'characterData') {
        if (this.#idOf(t) > 0) this.#texts.add(t)
      } else if (m.type === 'attributes' && m.attributeName) {
        if (this.#idOf(t) < 0 || this.#blocked(t)) continue
        const el = t as Element
        // A password field turned into a text field stays masked (as stock rrweb does).
        if (m.attributeName === 'type' && el.tagName === 'INPUT' && (m.oldValue ?? '').toLowerCase() === 'password') {
          el.setAttribute('data-rr-is-password', 'true')
        }
        let names = this.#attributes.get(el)
        if (!names) this.#attributes.set(el, names = new Set())
        names.add(m.attributeName)
      }
    }
  }

  /** Sends what changed since the last Mutation event, as one (none if nothing did). */
  #flush (): void {
    this.#collect(this.#observer.takeRecords())
    if (this.#walking || this.#stopped) return
    const removes: any[] = []
    const adds: any[] = []
    const texts: any[] = []
    const attributes: any[] = []
    for (const r of this.#removes) {
      const id = this.#idOf(r.node)
      if (id < 0) continue
      const parentId = this.#idOf(r.parent)
      // A node whose parent was removed before it goes with its parent.
      if (parentId > 0) removes.push(r.isShadow ? { parentId, id, isShadow: true } : { parentId, id })
      this.mirror.removeNodeFromMap(r.node)
    }
    for (const n of this.#adds) this.#add(n, adds)
    for (const t of this.#texts) {
      const id = this.#idOf(t)
      if (id < 0) continue
      const value = t.textContent ?? ''
      const masked = value && needMaskingText(t, 'rr-mask', this.#options.maskTextSelector ?? null, true)
        ? (this.#options.maskTextFn ? this.#options.maskTextFn(value, t.parentElement) : value.replace(/\S/g, '*'))
        : value
      texts.push({ id, value: masked })
    }
    for (const [el, names] of this.#attributes) {
      const item = this.#attributesOf(el, names)
      if (item) attributes.push(item)
    }
    for (const el of this.#textareas) {
      const id = this.#idOf(el)
      if (id > 0) attributes.push({ id, attributes: { value: this.#maskValue(el, (el as HTMLTextAreaElement).value) } })
    }
    this.#removes = []
    this.#adds.clear()
    this.#texts.clear()
    this.#attributes.clear()
    this.#textareas.clear()
    if (!removes.length && !adds.length && !texts.length && !attributes.length) return
    this.#send({ type: INCREMENTAL, data: { source: MUTATION, texts, attributes, removes, adds } })
  }

  /**
   * An added node, with the siblings after it that the agents do not have yet (from the last, so
   * that each add's `nextId` is a node the replay already has).
   */
  #add (n: Node, adds: any[]): void {
    if (this.#idOf(n) > 0 || !n.isConnected) return
    const parent = n.parentNode
    if (!parent) return
    const host = isShadowRoot(parent) ? parent.host : parent
    const parentId = this.#idOf(host)
    if (parentId < 0 || this.#blocked(host) || host.nodeName === 'TEXTAREA') return
    const chain: Node[] = [n]
    let nextId: number | null = null
    for (let s = n.nextSibling; s; s = s.nextSibling) {
      const id = this.#idOf(s)
      if (id > 0) { nextId = id; break }
      chain.push(s)
    }
    const options = { ...this.#serializeOptions(n.ownerDocument ?? document), newlyAddedElement: true }
    for (let i = chain.length - 1; i >= 0; i--) {
      const id = this.#addTree(chain[i], parentId, nextId, false, adds, options)
      if (id > 0) nextId = id
    }
  }

  /**
   * Adds `root` and everything under it as stock rrweb does: one add per node (the replayer
   * builds each node alone), each parent before its children, the children from the last.
   */
  #addTree (root: Node, parentId: number, nextId: number | null, cssCaptured: boolean, adds: any[], options: any): number {
    // [node, parent id, next sibling's id (undefined: look it up once the siblings after it are
    // in), text inside a style whose rules were captured]
    const stack: Array<[Node, number, number | null | undefined, boolean]> = [[root, parentId, nextId, cssCaptured]]
    let rootId = -1
    while (stack.length) {
      const [node, pid, known, captured] = stack.pop() as [Node, number, number | null | undefined, boolean]
      let next = known
      if (next === undefined) {
        next = null
        for (let s = node.nextSibling; s; s = s.nextSibling) {
          const id = this.#idOf(s)
          if (id > 0) { next = id; break }
        }
      }
      options.needsMask = undefined
      options.cssCaptured = captured
      const sn = serializeNodeWithId(node, options) as any
      if (!sn) continue
      if (rootId < 0) rootId = sn.id
      adds.push({ parentId: pid, nextId: next, node: sn })
      if (sn.type !== ELEMENT_NODE || 'rr_width' in sn.attributes || sn.tagName === 'textarea') continue
      const childCss = typeof sn.attributes._cssText === 'string'
      // Pushed from the first, so added from the last: each one's next sibling is in before it.
      const kids = node.childNodes
      for (let i = 0; i < kids.length; i++) stack.push([kids[i], sn.id, undefined, childCss])
      const shadow = (node as Element).shadowRoot
      if (shadow) {
        const inner = shadow.childNodes
        for (let i = 0; i < inner.length; i++) stack.push([inner[i], sn.id, undefined, false])
      }
    }
    return rootId
  }

  #maskValue (el: Element, value: string | null): string {
    return maskInputValue({
      element: el as HTMLElement,
      maskInputOptions: (this.#options.maskInputOptions ?? { password: true }) as any,
      tagName: el.tagName,
      type: getInputType(el as HTMLElement),
      value
    })
  }

  #attributesOf (el: Element, names: Set<string>): { id: number, attributes: Record<string, string | null> } | null {
    const id = this.#idOf(el)
    if (id < 0 || this.#blocked(el)) return null
    const tag = toLowerCase(el.tagName)
    const out: Record<string, string | null> = {}
    let any = false
    for (let name of names) {
      let value = el.getAttribute(name)
      if (name === 'value') value = this.#maskValue(el, value)
      if (tag === 'iframe' && name === 'src') {
        if ((el as HTMLIFrameElement).contentDocument) continue
        name = 'rr_src'
      }
      if (ignoreAttribute(tag, name, value)) continue
      out[name] = transformAttribute(el.ownerDocument, tag, toLowerCase(name), value)
      if (name === 'open' && tag === 'dialog') out.rr_open_mode = el.matches('dialog:modal') ? 'modal' : 'non-modal'
      any = true
    }
    return any ? { id, attributes: out } : null
  }
}
