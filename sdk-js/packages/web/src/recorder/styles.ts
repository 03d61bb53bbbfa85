// Rules a page's script puts into or takes out of a stylesheet (CSS-in-JS libraries in production
// mode do, with `insertRule`): rrweb StyleSheetRule events, so that the replay gets the same rules.
// The prototypes are wrapped once; the wrappers call whichever recorder listens now.

/** What changed in a sheet: StyleSheetRule event data without its id. */
export interface RuleChange {
  adds?: Array<{ rule: string, index?: number | number[] }>
  removes?: Array<{ index: number | number[] }>
}

type Listener = (sheet: CSSStyleSheet, change: RuleChange) => void

const listeners = new Set<Listener>()
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

/** Calls `listener` for each rule a script inserts or deletes, until the returned function is called. */
export function observeStyleSheets (listener: Listener): () => void {
  wrap()
  listeners.add(listener)
  return () => { listeners.delete(listener) }
}
