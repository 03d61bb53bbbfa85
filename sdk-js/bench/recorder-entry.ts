// The recorders the bench (bench/recorder.mjs) and the DOM comparison suite
// (e2e/recorder.test.mjs) run in a page: Tandem's (packages/web/src/recorder) and stock
// @rrweb/record, both with the web SDK's options (redaction selectors, password masking, pointer
// sampling), and @rrweb/replay to replay what they recorded.
import { record } from '@rrweb/record'
import { Replayer } from '@rrweb/replay'
import { recordOptions } from '../packages/web/src/index.js'
import { Recorder, type SnapshotCost } from '../packages/web/src/recorder/index.js'

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
 * Replays `events` into `root` up to their end and returns the replayed document's markup (the
 * replayer's own additions to it left out).
 */
async function replay (events: any[], root: HTMLElement): Promise<string> {
  // The real DOM throughout (the virtual one, used to fast-forward, differs in details: svg namespaces).
  const replayer = new Replayer(events, { root, showWarning: false, triggerFocus: false, mouseTail: false, useVirtualDom: false } as any)
  const end = events[events.length - 1].timestamp - events[0].timestamp
  replayer.pause(end + 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const doc = replayer.iframe.contentDocument as Document
  // A stylesheet as its rules (rules inserted by script are not in the element's text).
  for (const style of Array.from(doc.querySelectorAll('style'))) {
    try {
      const rules = Array.from((style as HTMLStyleElement).sheet?.cssRules ?? []).map((r) => r.cssText)
      style.textContent = rules.join('\n')
    } catch { /* as it is */ }
  }
  const html = doc.documentElement.outerHTML
  replayer.destroy()
  return html
}

;(window as any).benchRecord = start
;(window as any).benchReplay = replay
