// The recorders the bench (bench/recorder.mjs) and the DOM comparison suite
// (e2e/recorder.test.mjs) run in a page: Tandem's (packages/web/src/recorder) and stock
// @rrweb/record, both with the web SDK's options (redaction selectors, password masking, pointer
// sampling), and @rrweb/replay to replay what they recorded.
import { record } from '@rrweb/record'
import { Replayer } from '@rrweb/replay'
import { recordOptions } from '../packages/web/src/index.js'
import { Recorder, type SnapshotCost } from '../packages/web/src/recorder/index.js'
import { restoreFragmentUrls } from '../packages/web/src/fidelity.js'

export interface Running {
  /** Resolves once the first full snapshot was emitted. */
  done: Promise<void>
  stop: () => void
  /** Ours only: what the last snapshot cost (its slices). */
  cost: () => SnapshotCost | null
  /** Ours only: takes another full snapshot. */
  snapshot: () => Promise<void>
}

function start (variant: 'tandem' | 'stock', emit: (e: any) => void, redaction = ''): Running {
  const options = recordOptions(redaction)
  if (variant === 'stock') {
    const stop = record({ ...options, emit })
    return { done: Promise.resolve(), stop: () => stop?.(), cost: () => null, snapshot: async () => record.takeFullSnapshot(true) }
  }
  const recorder = new Recorder(options, emit)
  return { done: recorder.start(), stop: () => recorder.stop(), cost: () => recorder.lastSnapshot, snapshot: () => recorder.takeFullSnapshot(true) }
}

/**
 * A stylesheet's rules (rules inserted by script are not in its element's text), with
 * `url(#id)` references as the web SDK sends them (fidelity.ts mends what stock rrweb 2.1
 * makes of them; rrweb-snapshot 2.2, which ours serialises with, keeps them).
 */
function rules (sheet: CSSStyleSheet | null | undefined): string {
  try {
    return restoreFragmentUrls(Array.from(sheet?.cssRules ?? [], (r) => r.cssText).join(' '))
  } catch {
    return '(unreadable)'
  }
}

/**
 * A document as markup, with what markup leaves out: each stylesheet's rules, the sheets a
 * document or shadow root adopted, open shadow roots and same-origin frames' documents.
 */
function dump (node: Node): string {
  if (node.nodeType === Node.TEXT_NODE) return (node as Text).data
  if (node.nodeType === Node.COMMENT_NODE) return `<!--${(node as Comment).data}-->`
  if (node.nodeType === Node.DOCUMENT_TYPE_NODE) return `<!doctype ${(node as DocumentType).name}>`
  let out = ''
  if (node.nodeType === Node.DOCUMENT_NODE || node.nodeType === Node.DOCUMENT_FRAGMENT_NODE) {
    const root = node as Document | ShadowRoot
    const kind = node.nodeType === Node.DOCUMENT_NODE ? 'adopted' : 'shadow-adopted'
    if (root.adoptedStyleSheets?.length) out += `[${kind} ${root.adoptedStyleSheets.map(rules).join(' | ')}]`
    for (let c = node.firstChild; c; c = c.nextSibling) out += dump(c)
    return out
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return ''
  const el = node as Element
  const tag = el.tagName.toLowerCase()
  // Attributes in name order: an attribute set by a later event comes after the others.
  out += `<${tag}${Array.from(el.attributes, (a) => ` ${a.name}="${a.value}"`).sort().join('')}>`
  if (el.shadowRoot) out += `[shadow ${dump(el.shadowRoot)}]`
  if (tag === 'style') out += `[rules ${rules((el as HTMLStyleElement).sheet)}]`
  else for (let c = el.firstChild; c; c = c.nextSibling) out += dump(c)
  if (tag === 'iframe') {
    try {
      const doc = (el as HTMLIFrameElement).contentDocument
      if (doc) out += `[frame ${dump(doc)}]`
    } catch { /* another origin's */ }
  }
  return `${out}</${tag}>`
}

/** Replays `events` into `root` up to their end and returns the replayed document (`dump`). */
async function replay (events: any[], root: HTMLElement): Promise<string> {
  // The real DOM throughout (the virtual one, used to fast-forward, differs in details: svg namespaces).
  const replayer = new Replayer(events, { root, showWarning: false, triggerFocus: false, mouseTail: false, useVirtualDom: false } as any)
  const end = events[events.length - 1].timestamp - events[0].timestamp
  replayer.pause(end + 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const html = dump(replayer.iframe.contentDocument as Document)
  replayer.destroy()
  return html
}

;(window as any).benchRecord = start
;(window as any).benchReplay = replay
