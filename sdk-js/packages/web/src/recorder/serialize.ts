// One node of a full snapshot, serialised as rrweb-snapshot's `serializeNodeWithId` (with
// `skipChild`) would, for less: most of a page is plain elements, text and comments, and for
// those this reads only what rrweb would put in the event (no `customElements` lookup for a tag
// that cannot be custom, one masking check instead of two, URLs made absolute once per distinct
// value, the root id once per document). One difference: where reading scroll offsets lays the
// page out (content-visibility), only elements seen scrolling since the SDK loaded are read. Anything else (form fields, stylesheets, media,
// frames, canvases, dialogs, custom elements, shadow roots and hosts, redacted elements, text in
// a style or script, masked text, the document's own children) goes to rrweb-snapshot itself, so the output is rrweb's in every
// case; e2e/recorder.test.mjs compares the replays on real pages.
import { genId, serializeNodeWithId, transformAttribute } from 'rrweb-snapshot'

const ELEMENT = 1
const TEXT = 3
const COMMENT = 8
const SN_ELEMENT = 2
const SN_TEXT = 3
const SN_COMMENT = 5

/** Tags serialised by rrweb with more than their attributes (or not at all as they are). */
const SPECIAL = new Set(['input', 'textarea', 'select', 'option', 'link', 'style', 'dialog', 'canvas',
  'audio', 'video', 'iframe'])
/** Attributes whose value rrweb rewrites (`transformAttribute`): made absolute, or CSS with URLs. */
const URL_ATTRIBUTES = new Set(['src', 'href', 'xlink:href', 'srcset', 'background', 'data'])
const VALID_TAG = /[^a-z0-9-_:]/
const XHTML = 'http://www.w3.org/1999/xhtml'
const NONE: string[] = []
/** What a node's parent is, as the walk knows it (it read the parent before the node). */
export const PARENT_OTHER = 0
/** An element other than a style or a script (HTML's: `tagName` STYLE, SCRIPT). */
export const PARENT_ELEMENT = 1
export const PARENT_STYLE_OR_SCRIPT = 2

/** The kind of parent `node` is to its children (`PARENT_*`). */
export function parentKind (node: Node): number {
  if (node.nodeType !== ELEMENT) return PARENT_OTHER
  const tag = (node as Element).tagName
  return tag === 'STYLE' || tag === 'SCRIPT' ? PARENT_STYLE_OR_SCRIPT : PARENT_ELEMENT
}

/** A scroll offset read that took this long (ms) had to lay the page out. */
const SLOW_SCROLL_READ = 1

/**
 * Elements that scrolled since the SDK loaded: their offsets are read even where reading every
 * element's would lay the page out again and again.
 */
const scrolled = new WeakSet<Element>()
if (typeof document !== 'undefined') {
  document.addEventListener('scroll', (e) => {
    if ((e.target as Node | null)?.nodeType === ELEMENT) scrolled.add(e.target as Element)
  }, { capture: true, passive: true })
}

/** What one snapshot serialises with: rrweb-snapshot's options, and caches of its own. */
export interface SerializeContext {
  /** rrweb-snapshot's options (mutable: needsMask and cssCaptured change per node). */
  options: any
  doc: Document
  mirror: { add: (n: Node, meta: any) => void, getId: (n: Node) => number, hasNode: (n: Node) => boolean }
  rootId: number | undefined
  blockClass: string
  blockSelector: string | null
  /** Absolute URLs of href and src values (the document's base does not change during a snapshot). */
  urls: Map<string, string | null>
  tags: Map<string, string>
  /** The base URL relative URLs are resolved against, if the URL parser resolves them as an anchor would. */
  base: string | null
  /** The base's parts a plain reference is resolved with (`resolvePlain`), when `base` is set. */
  baseParts: BaseParts | null
  /** Whether every element's scroll offsets are read (as rrweb does), or only scrolled ones'. */
  readScroll: boolean
}

export function serializeContext (options: any, mirror: SerializeContext['mirror']): SerializeContext {
  const doc = options.doc as Document
  const base = doc.characterSet === 'UTF-8' && /^https?:/.test(doc.baseURI) ? doc.baseURI : null
  const docId = mirror.hasNode(doc) ? mirror.getId(doc) : -1
  return {
    options,
    doc,
    mirror,
    rootId: docId === -1 || docId === 1 ? undefined : docId,
    blockClass: options.blockClass,
    blockSelector: options.blockSelector,
    urls: new Map(),
    tags: new Map(),
    base,
    baseParts: base === null ? null : baseParts(base),
    readScroll: true
  }
}

function validTag (ctx: SerializeContext, raw: string): string {
  let tag = ctx.tags.get(raw)
  if (tag === undefined) {
    const lower = raw.toLowerCase()
    tag = VALID_TAG.test(lower) ? 'div' : lower
    ctx.tags.set(raw, tag)
  }
  return tag
}

/**
 * `node` serialised without its children and added to the mirror, as
 * `serializeNodeWithId(node, { ...ctx.options, skipChild: true, needsMask })` does; null if rrweb
 * would not serialise it. `parent` is the kind of its parent (`parentKind`).
 */
export function serializeOne (ctx: SerializeContext, node: Node, needsMask: boolean, cssCaptured: boolean, parent: number): any {
  const type = node.nodeType
  let sn: any = null
  if (type === TEXT) {
    if (!needsMask && parent === PARENT_ELEMENT) {
      sn = { type: SN_TEXT, textContent: (node as Text).data }
      if (ctx.rootId !== undefined) sn.rootId = ctx.rootId
    }
  } else if (type === ELEMENT) {
    if (parent !== PARENT_OTHER) sn = element(ctx, node as Element)
  } else if (type === COMMENT && parent !== PARENT_OTHER) {
    sn = { type: SN_COMMENT, textContent: node.textContent || '' }
    if (ctx.rootId !== undefined) sn.rootId = ctx.rootId
  }
  if (!sn) {
    const options = ctx.options
    options.needsMask = needsMask
    options.cssCaptured = cssCaptured
    return serializeNodeWithId(node, options)
  }
  sn.id = genId()
  ctx.mirror.add(node, sn)
  return sn
}

/** An http(s) base URL, cut where a relative reference replaces it. */
export interface BaseParts {
  /** Up to its path: scheme, credentials, host, port. */
  origin: string
  /** Its path up to its last `/`. */
  directory: string
  /** All but its fragment. */
  page: string
}

export function baseParts (base: string): BaseParts {
  const url = new URL(base)
  const href = url.href
  return {
    origin: href.slice(0, href.length - (url.pathname + url.search + url.hash).length),
    directory: url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1),
    page: href.slice(0, href.length - url.hash.length)
  }
}

/**
 * A reference of path characters the URL parser leaves as they are (letters, digits, - . _ ~ /),
 * and an optional fragment of the same and `:`: no scheme, query, escape or backslash.
 */
const PLAIN_REFERENCE = /^[A-Za-z0-9._~/-]*(#[A-Za-z0-9._~/:-]*)?$/
/** A `.` or `..` segment, which the URL parser would take out. */
const DOT_SEGMENT = /(^|\/)\.\.?(\/|#|$)/

/**
 * `new URL(value, base).href` for a plain reference (`PLAIN_REFERENCE`, not `//host`, no dot
 * segment), by joining strings: a page's links are mostly such, and each costs a URL parse
 * otherwise. Null for any other reference.
 */
export function resolvePlain (base: BaseParts, value: string): string | null {
  if (!PLAIN_REFERENCE.test(value) || value.startsWith('//') || DOT_SEGMENT.test(value)) return null
  if (value[0] === '#') return base.page + value
  if (value[0] === '/') return base.origin + value
  return base.origin + base.directory + value
}

/**
 * `value` of a src or href made absolute as rrweb-snapshot makes it (an anchor's `href`), by the
 * URL parser where that gives the same (a UTF-8 document, a URL it can parse): faster.
 */
function absolute_ (ctx: SerializeContext, tag: string, name: 'href' | 'src', value: string): string | null {
  if (ctx.base !== null && value.trim() !== '' && !value.startsWith('blob:') && !value.startsWith('data:')) {
    const plain = resolvePlain(ctx.baseParts as BaseParts, value)
    if (plain !== null) return plain
    try {
      return new URL(value, ctx.base).href
    } catch { /* as rrweb-snapshot does it */ }
  }
  return transformAttribute(ctx.doc, tag as Lowercase<string>, name, value)
}

/** A plain element (its parent an element), or null for one rrweb-snapshot must serialise. */
function element (ctx: SerializeContext, el: Element): any {
  const raw = el.tagName
  const tag = validTag(ctx, raw)
  if (SPECIAL.has(tag) || tag.includes('-') || el.shadowRoot) return null
  if (ctx.blockSelector && el.matches(ctx.blockSelector)) return null
  const attributes: Record<string, string | number | null> = {}
  // By name, not through `el.attributes`: that makes an Attr node for each attribute (and a
  // NamedNodeMap for each element, even one without attributes) that the page then keeps.
  const names = el.hasAttributes() ? el.getAttributeNames() : NONE
  for (let i = 0; i < names.length; i++) {
    const name = names[i]
    const lower = name.toLowerCase()
    // Two attributes of the same name (in two namespaces), or a name in capitals on an HTML
    // element (set with setAttributeNS), which `getAttribute` would not find: rrweb-snapshot's.
    if (attributes[name] !== undefined || (lower !== name && el.namespaceURI === XHTML)) return null
    const value = el.getAttribute(name)
    if (value === null) return null
    if (lower === 'class' && value.includes(ctx.blockClass) && el.classList.contains(ctx.blockClass)) return null
    if (value && (lower === 'href' || lower === 'src') && tag !== 'use') {
      // The same link or image again (a menu on every row): made absolute once.
      let absolute = ctx.urls.get(value)
      if (absolute === undefined) {
        absolute = absolute_(ctx, tag, lower, value)
        ctx.urls.set(value, absolute)
      }
      attributes[name] = absolute
    } else if (value && (URL_ATTRIBUTES.has(lower) || (lower === 'style' && value.includes('url(')))) {
      attributes[name] = transformAttribute(ctx.doc, tag as Lowercase<string>, lower as Lowercase<string>, value)
    } else {
      attributes[name] = value
    }
  }
  if (ctx.readScroll || scrolled.has(el)) {
    const before = ctx.readScroll ? performance.now() : 0
    const left = el.scrollLeft
    if (left) attributes.rr_scrollLeft = left
    const top = el.scrollTop
    if (top) attributes.rr_scrollTop = top
    // Reading an offset laid the page out (content-visibility: auto keeps parts of it unlaid
    // until they are seen, and each slice lays them out again): from here on, only the
    // elements seen scrolling are read.
    if (ctx.readScroll && performance.now() - before > SLOW_SCROLL_READ) ctx.readScroll = false
  }
  // Only the fields that are set (rrweb's has them undefined, which JSON leaves out): less to
  // hold in memory until the snapshot is sent.
  const sn: any = { type: SN_ELEMENT, tagName: tag, attributes, childNodes: [] }
  if (raw === 'svg' || (el as SVGElement).ownerSVGElement) sn.isSVG = true
  if (ctx.rootId !== undefined) sn.rootId = ctx.rootId
  return sn
}

/**
 * Whether the text under `el` is masked (rrweb-snapshot's `needMaskingText`, the ancestors aside).
 * `sn` is `el` serialised: its class attribute is looked at before `classList`, which the browser
 * would otherwise make (and keep) for every element.
 */
export function masksText (el: Element, sn: any, maskTextSelector: string | null): boolean {
  if (!el.firstChild) return false
  try {
    const cls = sn.attributes.class
    return (typeof cls === 'string' && cls.includes('rr-mask') && el.classList.contains('rr-mask')) ||
      (maskTextSelector !== null && el.matches(maskTextSelector))
  } catch {
    return false
  }
}
