// Shadow roots a page attaches after the recorder has read their host (a custom element upgraded
// late, say): a MutationObserver on the document does not see into them, so each one is
// observed from when it is attached. The prototype is wrapped once; the wrapper calls whichever
// recorder listens now.

type Listener = (host: Element, root: ShadowRoot) => void

const listeners = new Set<Listener>()
let wrapped = false

/** Calls `listener` for each shadow root attached, until the returned function is called. */
export function observeAttachShadow (listener: Listener): () => void {
  if (!wrapped) {
    wrapped = true
    const attach = Element.prototype.attachShadow
    Element.prototype.attachShadow = function (this: Element, init: ShadowRootInit) {
      const root = attach.call(this, init)
      for (const l of listeners) {
        try { l(this, root) } catch { /* attached; the recording misses what goes in it */ }
      }
      return root
    }
  }
  listeners.add(listener)
  return () => { listeners.delete(listener) }
}
