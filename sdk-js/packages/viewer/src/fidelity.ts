// What the replayer needs to show the customer's page as they see it (issue 19), beside the
// customer SDK's side (packages/web/src/fidelity.ts):
// - the customer's text selection in the active selection colour (the mirror's frame never has
//   focus, so the browser paints it in the inactive grey);
// - a focus ring on the field the customer is in (`tandem-focus` events), without ever moving
//   the agent's own keyboard focus;
// - canvases, as the images the SDK sends (`tandem-canvas`): the mirror's frame runs no script,
//   and a browser shows a canvas there as its fallback content, that is nothing;
// - a labelled placeholder of the same size where something could not be captured: a canvas
//   holding another site's image, a frame from another site;
// - inner scroll containers (and the page) at the customer's position: the snapshot's offsets
//   are applied again once the stylesheets and images they depend on have loaded.
import type { Replayer } from '@rrweb/replay'

type AnyReplayer = Replayer & {
  getMirror: () => { getNode: (id: number) => Node | null, getMeta: (n: Node) => any, getId: (n: Node) => number }
  iframe: HTMLIFrameElement
}

/** A grey box with `text` in the middle, as a CSS background (an SVG data URL). */
export function placeholderImage (text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%">' +
    '<rect width="100%" height="100%" fill="#f3f4f6" stroke="#9ca3af" stroke-width="2" stroke-dasharray="6 4"/>' +
    '<text x="50%" y="50%" text-anchor="middle" dominant-baseline="middle" ' +
    `font-family="system-ui,sans-serif" font-size="13" fill="#4b5563">${escaped}</text></svg>`
  return `url("data:image/svg+xml,${encodeURIComponent(svg)}")`
}

/**
 * A hatched box labelled `text`, as a CSS background: what the customer's privacy settings
 * keep from the agent (the recorder sends such an element as an empty box of its size).
 */
export function redactedImage (text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%">' +
    '<defs><pattern id="h" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="8" height="8" fill="#eef0f3"/><rect width="3" height="8" fill="#d5d9e0"/></pattern></defs>' +
    '<rect width="100%" height="100%" fill="url(#h)" stroke="#9aa3b2" stroke-width="1"/>' +
    '<rect x="50%" y="50%" width="180" height="20" transform="translate(-90 -10)" rx="4" fill="#ffffff" fill-opacity=".92"/>' +
    '<text x="50%" y="50%" text-anchor="middle" dominant-baseline="central" ' +
    `font-family="system-ui,sans-serif" font-size="12" fill="#4b5565">${escaped}</text></svg>`
  return `url("data:image/svg+xml,${encodeURIComponent(svg)}")`
}

export const LABELS = {
  taintedCanvas: 'Canvas not shared',
  crossOriginFrame: 'Another site\'s frame',
  redacted: 'Hidden by privacy settings'
}

/**
 * Rules the replayer puts in every copy of the page. In a cascade layer, so that the page's own
 * rules (`::selection` colours, `canvas { display: block }`) win over these defaults.
 */
export const STYLE_RULES = [
  '@layer tandem { ::selection { background-color: Highlight; color: HighlightText; } ' +
    'canvas { display: inline-block; } }',
  '[data-tandem-image] { background-repeat: no-repeat !important; background-position: center !important; ' +
    'background-size: 100% 100% !important; }',
  // A canvas is given the customer's border-box size.
  'canvas[data-tandem-image] { box-sizing: border-box !important; }',
  // What the privacy settings hide keeps its size: the recorder gives its border box (rr_width,
  // rr_height), which the replayer sets as width and height.
  '[data-tandem-image="redacted"] { box-sizing: border-box !important; background-size: 100% 100% !important; color: transparent !important; }'
]

/** How long after a snapshot its scroll offsets are applied again as the page's assets load. */
const SETTLE_MS = 5000

/** A canvas as the SDK last described it. */
interface CanvasState { url?: string, tainted?: boolean, w?: number, h?: number }

/** The replayer's plugin and options for all of the above; one per Replayer. */
export class Mirroring {
  #replayer: AnyReplayer | null = null
  #canvases = new Map<number, CanvasState>()
  /** Snapshot scroll offsets still to hold, by element (dropped once the customer scrolls it). */
  #scrolls = new Map<number, { top: number, left: number }>()
  #settleUntil = 0
  #settleTimers: Array<ReturnType<typeof setTimeout>> = []
  #focused: Element | null = null

  /** Options to spread into the Replayer's. */
  options (): { insertStyleRules: string[], plugins: any[] } {
    return {
      insertStyleRules: STYLE_RULES,
      plugins: [{
        onBuild: (node: Node, ctx: { id: number, replayer: Replayer }) => this.#onBuild(node, ctx.id, ctx.replayer as AnyReplayer),
        handler: (event: any, _sync: boolean, ctx: { replayer: Replayer }) => this.#onEvent(event, ctx.replayer as AnyReplayer)
      }]
    }
  }

  /** Listens to the SDK's own events; call once, after constructing the replayer. */
  attach (replayer: Replayer): void {
    this.#replayer = replayer as AnyReplayer
    replayer.on('custom-event', (e: any) => this.#onCustom(e?.data?.tag, e?.data?.payload))
  }

  #node (id: unknown): Node | null {
    if (typeof id !== 'number' || !this.#replayer) return null
    return this.#replayer.getMirror().getNode(id)
  }

  #onBuild (node: Node, id: number, replayer: AnyReplayer): void {
    this.#replayer ??= replayer
    if (node.nodeType !== 1) return
    const el = node as Element
    const attrs: Record<string, unknown> = (replayer.getMirror().getMeta(el) as any)?.attributes ?? {}
    const tag = el.tagName.toLowerCase()
    if (tag === 'canvas') {
      const state = this.#canvases.get(id)
      if (state) this.#paintCanvas(el as HTMLElement, state)
    } else if (tag === 'iframe' && typeof attrs.rr_src === 'string') {
      // A frame from another site: the recorder could not read it.
      this.#placeholder(el as HTMLElement, LABELS.crossOriginFrame)
    } else if (attrs.rr_width !== undefined || attrs.rr_height !== undefined) {
      // Blocked by the privacy settings: an empty box of the customer's size, labelled.
      const box = el as HTMLElement
      if (box.style) {
        box.setAttribute('data-tandem-image', 'redacted')
        box.setAttribute('title', LABELS.redacted)
        box.style.setProperty('background-image', redactedImage(LABELS.redacted), 'important')
      }
    }
    const top = Number(attrs.rr_scrollTop ?? 0)
    const left = Number(attrs.rr_scrollLeft ?? 0)
    if (top || left) this.#scrolls.set(id, { top, left })
  }

  #onEvent (event: any, replayer: AnyReplayer): void {
    this.#replayer ??= replayer
    if (event?.type === 2) {
      // A new copy of the page: its scroll offsets held while it loads.
      const offset = event.data?.initialOffset
      const docId = event.data?.node?.id
      if (typeof docId === 'number' && offset && (offset.top || offset.left)) {
        this.#scrolls.set(docId, { top: Number(offset.top) || 0, left: Number(offset.left) || 0 })
      }
      this.#focused = null
      this.#settle()
    } else if (event?.type === 3 && event.data?.source === 3) {
      // The customer scrolled it: their newer position is the replayer's to apply.
      this.#scrolls.delete(event.data.id)
    }
  }

  /**
   * Applies the snapshot's scroll offsets again as the copy's stylesheets, images and fonts
   * load (each can make a scroll container taller than when the offsets were first applied,
   * when they were cut short), until the customer scrolls or `SETTLE_MS` pass.
   */
  #settle (): void {
    for (const t of this.#settleTimers.splice(0)) clearTimeout(t)
    this.#settleUntil = performance.now() + SETTLE_MS
    const doc = this.#replayer?.iframe?.contentDocument
    const apply = (): void => this.#applyScrolls()
    if (doc) {
      doc.addEventListener('load', apply, { capture: true })
      doc.fonts?.ready.then(apply).catch(() => {})
    }
    for (const ms of [0, 50, 200, 500, 1000, 2000, SETTLE_MS]) this.#settleTimers.push(setTimeout(apply, ms))
    this.#settleTimers.push(setTimeout(() => { doc?.removeEventListener('load', apply, { capture: true }); this.#scrolls.clear() }, SETTLE_MS + 10))
  }

  #applyScrolls (): void {
    if (performance.now() > this.#settleUntil + 20) return
    for (const [id, { top, left }] of this.#scrolls) {
      const n = this.#node(id)
      // (The copy's nodes come from its frame: `instanceof` this window's classes fails.)
      const target = n?.nodeType === 9 ? (n as Document).scrollingElement : n?.nodeType === 1 ? n as Element : null
      if (!target) continue
      if (Math.abs(target.scrollTop - top) > 1) target.scrollTop = top
      if (Math.abs(target.scrollLeft - left) > 1) target.scrollLeft = left
    }
  }

  #onCustom (tag: unknown, payload: any): void {
    if (tag === 'tandem-focus') this.#focus(payload)
    else if (tag === 'tandem-canvas') this.#canvas(payload)
  }

  /**
   * Marks the customer's focused element, with the ring they see on it (their browser's or
   * their page's outline, if any); never focuses it.
   */
  #focus (payload: any): void {
    const last = this.#focused as HTMLElement | null
    if (last?.style) {
      last.removeAttribute('data-tandem-focus')
      last.style.removeProperty('outline')
      last.style.removeProperty('outline-offset')
    }
    this.#focused = null
    const el = this.#node(payload?.id) as HTMLElement | null
    if (!el || el.nodeType !== 1 || !el.style) return
    this.#focused = el
    el.setAttribute('data-tandem-focus', '')
    const outline = typeof payload.outline === 'string' ? payload.outline : ''
    const offset = typeof payload.offset === 'string' ? payload.offset : '0px'
    // Only a colour, a style and lengths: nothing that could load anything.
    if (outline && /^[\w\s.,()%#-]+$/.test(outline) && !/url/i.test(outline)) {
      el.style.setProperty('outline', outline.replace(/\bauto\b.*$/, 'solid 2px'), 'important')
      if (/^-?[\d.]+px$/.test(offset)) el.style.setProperty('outline-offset', offset, 'important')
    }
  }

  #canvas (payload: any): void {
    if (typeof payload?.id !== 'number') return
    const state: CanvasState = {
      url: typeof payload.url === 'string' && /^data:image\/(webp|png|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/.test(payload.url) ? payload.url : undefined,
      tainted: payload.tainted === true,
      w: Number(payload.w) || undefined,
      h: Number(payload.h) || undefined
    }
    this.#canvases.set(payload.id, state)
    const el = this.#node(payload.id)
    if (el && el.nodeType === 1) this.#paintCanvas(el as HTMLElement, state)
  }

  /** A canvas shown as the customer sees it: their image, at their size. */
  #paintCanvas (el: HTMLElement, state: CanvasState): void {
    if (!el.style) return
    if (state.w) el.style.setProperty('width', `${state.w}px`)
    if (state.h) el.style.setProperty('height', `${state.h}px`)
    if (state.tainted) {
      this.#placeholder(el, LABELS.taintedCanvas)
    } else if (state.url) {
      el.setAttribute('data-tandem-image', 'canvas')
      el.style.setProperty('background-image', `url("${state.url}")`, 'important')
    }
  }

  /** A labelled grey box in place of what could not be captured, at the element's own size. */
  #placeholder (el: HTMLElement, label: string): void {
    if (!el.style) return
    el.setAttribute('data-tandem-image', 'placeholder')
    el.setAttribute('title', label)
    el.style.setProperty('background-image', placeholderImage(label), 'important')
  }
}
