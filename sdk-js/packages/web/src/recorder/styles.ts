// Rules a page's script puts into or takes out of a stylesheet (CSS-in-JS libraries in production
// mode do, with `insertRule`; constructed sheets are also `replace`d), and the constructed sheets
// a document or shadow root adopts: rrweb StyleSheetRule and AdoptedStyleSheet events, so that
// the replay gets the same rules. The prototypes are wrapped once; the wrappers call whichever
// recorder listens now.

/** What changed in a sheet: StyleSheetRule event data without its id. */
export interface RuleChange {
  adds?: Array<{ rule: string, index?: number | number[] }>
  removes?: Array<{ index: number | number[] }>
  replace?: string
  replaceSync?: string
}

type Listener = (sheet: CSSStyleSheet, change: RuleChange) => void
/** A document or shadow root adopted `sheets`. */
type AdoptListener = (root: Document | ShadowRoot, sheets: readonly CSSStyleSheet[]) => void

const listeners = new Set<Listener>()
const adoptListeners = new Set<AdoptListener>()
let wrapped = false

/** Where `rule` is: its index in its sheet, then in each group rule down to it. */
function position (rule: CSSRule): number[] {
  const path: number[] = []
  let r: CSSRule = rule
  while (r.parentRule) {
    path.unshift(Array.prototype.indexOf.call((r.parentRule as CSSGroupingRule).cssRules, r))
    r = r.parentRule
  }
  if (r.parentStyleSheet) path.unshift(Array.prototype.indexOf.call(r.parentStyleSheet.cssRules, r))
  return path
}

function tell (sheet: CSSStyleSheet | null, change: RuleChange): void {
  if (!sheet) return
  for (const listener of listeners) {
    try { listener(sheet, change) } catch { /* the page's call went through; the recording misses it */ }
  }
}

function wrap (): void {
  if (wrapped) return
  wrapped = true
  const sheet = CSSStyleSheet.prototype
  const insert = sheet.insertRule
  const remove = sheet.deleteRule
  sheet.insertRule = function (this: CSSStyleSheet, rule: string, index?: number) {
    const at = insert.call(this, rule, index)
    if (listeners.size) tell(this, { adds: [{ rule, index }] })
    return at
  }
  sheet.deleteRule = function (this: CSSStyleSheet, index: number) {
    remove.call(this, index)
    if (listeners.size) tell(this, { removes: [{ index }] })
  }
  const replace = sheet.replace
  const replaceSync = sheet.replaceSync
  if (replace) {
    sheet.replace = function (this: CSSStyleSheet, text: string) {
      const done = replace.call(this, text)
      if (listeners.size) tell(this, { replace: text })
      return done
    }
  }
  if (replaceSync) {
    sheet.replaceSync = function (this: CSSStyleSheet, text: string) {
      replaceSync.call(this, text)
      if (listeners.size) tell(this, { replaceSync: text })
    }
  }
  const roots = [Document, (globalThis as { ShadowRoot?: typeof ShadowRoot }).ShadowRoot]
  for (const Root of roots.filter((r): r is typeof Document | typeof ShadowRoot => r !== undefined)) {
    const descriptor = Object.getOwnPropertyDescriptor(Root.prototype, 'adoptedStyleSheets')
    if (!descriptor?.set || !descriptor.get) continue
    const { get, set } = descriptor
    Object.defineProperty(Root.prototype, 'adoptedStyleSheets', {
      ...descriptor,
      get,
      set (this: Document | ShadowRoot, sheets: CSSStyleSheet[]) {
        set.call(this, sheets)
        for (const l of adoptListeners) {
          try { l(this, get.call(this)) } catch { /* adopted; the recording misses it */ }
        }
      }
    })
  }
  // Rules inside @media, @supports, @container, @layer blocks: indexes from the sheet down.
  const Group = (globalThis as { CSSGroupingRule?: typeof CSSGroupingRule }).CSSGroupingRule
  if (!Group?.prototype?.insertRule) return
  const group = Group.prototype
  const groupInsert = group.insertRule
  const groupRemove = group.deleteRule
  group.insertRule = function (this: CSSGroupingRule, rule: string, index?: number) {
    const at = groupInsert.call(this, rule, index)
    if (listeners.size) tell(this.parentStyleSheet, { adds: [{ rule, index: [...position(this), index ?? 0] }] })
    return at
  }
  group.deleteRule = function (this: CSSGroupingRule, index: number) {
    groupRemove.call(this, index)
    if (listeners.size) tell(this.parentStyleSheet, { removes: [{ index: [...position(this), index] }] })
  }
}

/**
 * Calls `listener` for each rule a script inserts or deletes (or each sheet it replaces), and
 * `adopted` for each set of sheets a document or shadow root adopts, until the returned function
 * is called.
 */
export function observeStyleSheets (listener: Listener, adopted: AdoptListener): () => void {
  wrap()
  listeners.add(listener)
  adoptListeners.add(adopted)
  return () => {
    listeners.delete(listener)
    adoptListeners.delete(adopted)
  }
}
