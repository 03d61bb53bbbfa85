// Time slices for work on the customer's main thread: run until the slice's budget is spent,
// then give the page the thread back (input, rendering, its own tasks) before going on.

/** The most a slice of recorder work holds the main thread, in ms. */
export const SLICE_MS = 8

/**
 * Gives the page the main thread until the next macrotask: a MessageChannel message, queued
 * behind the page's own tasks, so that its timers, network callbacks, input and frames all run
 * between two slices (and not throttled like a `setTimeout(0)` chain, nor starved like
 * `requestIdleCallback` on a page that is never idle). `scheduler.yield()` was measured and not
 * used: its continuation runs ahead of the page's tasks, which then wait for the whole snapshot
 * (in Chromium, a page's `setTimeout` chain ran 0 times and 3 frames were drawn during a 400 ms
 * snapshot of 29,000 nodes, against 20–37 tasks and 31–45 frames with a MessageChannel).
 */
export function yieldToPage (): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}

