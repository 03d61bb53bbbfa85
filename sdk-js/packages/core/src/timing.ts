// User Timing marks at the steps of joining a session: `tandem:consent`, `tandem:active`,
// `tandem:stream-open` and `tandem:snapshot` on the customer's page, `tandem:first-paint` in the
// viewer. They show in the browser's performance panel, and the join benchmark
// (sdk-js/bench/latency.mjs) reads them to say where the time goes.

const STEPS = ['consent', 'active', 'stream-open', 'snapshot', 'first-paint']

/**
 * Marks `tandem:<step>` unless this join already has: each step is marked once per join, and a
 * new consent starts a new join (the last one's marks are cleared).
 */
export function markJoin (step: string): void {
  const name = `tandem:${step}`
  try {
    if (step === 'consent') for (const s of STEPS) performance.clearMarks(`tandem:${s}`)
    if (performance.getEntriesByName(name, 'mark').length === 0) performance.mark(name)
  } catch {
    // No User Timing in this browser: the marks are only a diagnostic.
  }
}
