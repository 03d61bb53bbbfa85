// The customer's main thread between two of the web SDK's User Timing marks (from `tandem:consent`
// to `tandem:snapshot`, the full snapshot sent), as bench/fidelity.mjs reports it: a Chromium
// trace gives every task the page's main thread ran (all of them, not only the 50 ms and longer
// that a PerformanceObserver reports, and those run for the debugger too); a CPU profile of the
// same time says what ran in the longest one, by the SDK's source lines (through the bundle's
// source map).
//
//   await browser.startTracing(undefined, { categories: TRACE_CATEGORIES })
//   … consent, snapshot …
//   const tasks = mainThreadTasks(JSON.parse(await browser.stopTracing()), 'tandem:consent', 'tandem:snapshot')
import { readFileSync, existsSync } from 'node:fs'
import { SourceMap } from 'node:module'

export const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'v8']

const TASK_NAMES = new Set(['ThreadControllerImpl::RunTask', 'RunTask'])
const MARK_PHASES = new Set(['R', 'I', 'i', 'n', 'b'])

/**
 * The tasks on the main thread of the page that marked `from` (its renderer), overlapping the
 * time from its mark `from` to its mark `to` (to the end of the trace if `to` is missing):
 * `{ longest: { ms, ts, end, parts }, count, over50, window }` (times in µs of the trace's clock,
 * `parts`: what the longest task spent its time in, by trace event), or null if `from` is not in
 * the trace.
 */
export function mainThreadTasks (trace, from, to) {
  const events = Array.isArray(trace) ? trace : trace.traceEvents
  const mark = (name, pid) => events.find((e) => e.name === name && MARK_PHASES.has(e.ph) &&
    String(e.cat).includes('blink.user_timing') && (pid === undefined || e.pid === pid))
  const start = mark(from)
  if (!start) return null
  const pid = start.pid
  const end = mark(to, pid)
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args?.name === 'CrRendererMain')
  const tid = main ? main.tid : start.tid
  const until = end ? end.ts : Infinity
  const onMain = events.filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X' && typeof e.dur === 'number')
  const tasks = onMain.filter((e) => TASK_NAMES.has(e.name) && e.ts + e.dur >= start.ts && e.ts <= until)
  // Tasks nest (a RunTask in a ThreadControllerImpl::RunTask): the outermost ones count.
  const outer = tasks.filter((t) => !tasks.some((o) => o !== t && o.ts <= t.ts && o.ts + o.dur >= t.ts + t.dur && o.dur > t.dur))
  let longest = null
  for (const t of outer) if (!longest || t.dur > longest.dur) longest = t
  return {
    window: { from: start.ts, to: end ? end.ts : null },
    count: outer.length,
    over50: outer.filter((t) => t.dur >= 50_000).length,
    longest: longest && { ms: longest.dur / 1000, ts: longest.ts, end: longest.ts + longest.dur, parts: parts(onMain, longest) }
  }
}

/** What `task` spent its time in: its outermost trace events inside it, summed by label. */
function parts (events, task) {
  const inside = events.filter((e) => e !== task && !TASK_NAMES.has(e.name) && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur)
  const sums = new Map()
  let coveredTo = -Infinity
  for (const e of inside) {
    if (e.ts < coveredTo) continue
    coveredTo = e.ts + e.dur
    const data = e.args?.data ?? {}
    const where = data.functionName || data.url ? ` ${data.functionName ?? ''} ${data.url ? `${data.url.split('/').pop()}:${data.lineNumber ?? '?'}:${data.columnNumber ?? '?'}` : ''}` : ''
    const label = `${e.name}${where}`
    sums.set(label, (sums.get(label) ?? 0) + e.dur / 1000)
  }
  return [...sums].sort((a, b) => b[1] - a[1])
}

/** The source map of the built SDK file `name` (sdk-js/dist), or null. */
export function bundleMap (name) {
  const file = new URL(`../dist/${name}.map`, import.meta.url).pathname
  return existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null
}

/** `file:line` of a profile's call frame, through `maps` (bundle name → SourceMap) where it has one. */
function where (frame, maps) {
  const bundle = frame.url.split('/').pop().split('?')[0]
  const map = maps[bundle]
  if (map && frame.lineNumber >= 0) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber)
    if (entry?.originalSource) return `${entry.originalSource.replace(/^(\.\.\/)+/, '')}:${entry.originalLine + 1}`
  }
  return frame.url ? `${bundle}:${frame.lineNumber + 1}` : ''
}

/**
 * What ran from `from` to `to` (µs, the trace's clock) in a CPU profile (CDP Profiler.stop's
 * `profile`): the `top` functions by self time, and by time under each of the SDK's functions
 * (the nearest frame of a bundle in `maps` on the stack), in ms.
 */
export function profileBetween (profile, from, to, maps, top = 12) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map()
  const under = new Map()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    if (t < from || t > to || ms <= 0) continue
    const node = nodes.get(profile.samples[i])
    const f = node.callFrame
    const label = `${f.functionName || '(anonymous)'} ${where(f, maps)}`
    self.set(label, (self.get(label) ?? 0) + ms)
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id).callFrame
      if (maps[frame.url.split('/').pop().split('?')[0]]) {
        const sdk = `${frame.functionName || '(anonymous)'} ${where(frame, maps)}`
        under.set(sdk, (under.get(sdk) ?? 0) + ms)
        break
      }
    }
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return { self: sorted(self), bySdkFunction: sorted(under) }
}
