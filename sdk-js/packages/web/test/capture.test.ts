// When the page records (capture.ts): while agents watch, or after a `sync`; one snapshot per
// coming; nothing held once they are gone; what an older server gets.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { AGENTS_WAIT_MS, Capture, STOP_GRACE_MS } from '../src/capture.js'

/** A recorder stand-in that notes what the capture asked of it. */
function recorder (): { calls: string[], capture: Capture } {
  const calls: string[] = []
  let running = false
  const capture = new Capture({
    running: () => running,
    start: (held) => { running = true; calls.push(held ? 'start held' : 'start') },
    release: () => { calls.push('release') },
    snapshot: () => { calls.push('snapshot') },
    stop: () => { running = false; calls.push('stop') }
  })
  return { calls, capture }
}

describe('the page records while agents watch', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  test('nobody watching: nothing is recorded, however long the stream is open', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(0)
    vi.advanceTimersByTime(60_000)
    expect(calls).toEqual([])
    expect(capture.recording).toBe(false)
  })

  test('an agent watching at the open: recording starts at once, and its first snapshot is the only one', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(1)
    expect(calls).toEqual(['start'])
    vi.advanceTimersByTime(60_000)
    expect(calls).toEqual(['start'])
  })

  test('an agent who comes starts the recording; its `sync` takes no second snapshot, a later one does', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(0)
    capture.agents(1)
    capture.sync()
    expect(calls).toEqual(['start'])
    capture.sync()
    expect(calls).toEqual(['start', 'snapshot'])
  })

  test('a coming whose `sync` never arrives answers no later `sync`', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(0)
    capture.agents(1)
    vi.advanceTimersByTime(5_000)
    capture.sync()
    expect(calls).toEqual(['start', 'snapshot'])
  })

  test('an agent who joins others already watched asks, and gets, a snapshot', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(1)
    capture.agents(2)
    capture.sync()
    expect(calls).toEqual(['start', 'snapshot'])
  })

  test('the last agent leaves: recording stops after the grace, unless one comes back within it', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(1)
    capture.agents(0)
    vi.advanceTimersByTime(STOP_GRACE_MS - 100)
    // An agent's reload: back within the grace, and nothing new is recorded for it.
    capture.agents(1)
    vi.advanceTimersByTime(STOP_GRACE_MS * 2)
    expect(calls).toEqual(['start'])
    capture.agents(0)
    vi.advanceTimersByTime(STOP_GRACE_MS)
    expect(calls).toEqual(['start', 'stop'])
    expect(capture.recording).toBe(false)
    // The next agent gets a fresh recording.
    capture.agents(1)
    capture.sync()
    expect(calls).toEqual(['start', 'stop', 'start'])
  })

  test('a `sync` while nothing records starts the recording', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(0)
    capture.sync()
    expect(calls).toEqual(['start'])
  })

  test('a reconnected stream: agents still there get a fresh snapshot, none if none watch', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    capture.agents(1)
    capture.opened(true)
    capture.agents(1)
    expect(calls).toEqual(['start', 'snapshot'])
    capture.opened(true)
    capture.agents(0)
    vi.advanceTimersByTime(STOP_GRACE_MS)
    expect(calls).toEqual(['start', 'snapshot', 'stop'])
  })

  test('a server that never says `agents` gets the recording it always had', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    vi.advanceTimersByTime(AGENTS_WAIT_MS - 1)
    expect(calls).toEqual([])
    vi.advanceTimersByTime(1)
    expect(calls).toEqual(['start'])
    capture.sync()
    capture.opened(true)
    vi.advanceTimersByTime(AGENTS_WAIT_MS)
    expect(calls).toEqual(['start', 'snapshot', 'snapshot'])
    vi.advanceTimersByTime(60_000)
    expect(calls).toEqual(['start', 'snapshot', 'snapshot'])
  })

  test('the recorder starts as the stream opens; what it holds goes once an agent is counted', () => {
    const { calls, capture } = recorder()
    capture.begin(true)
    capture.opened(false)
    expect(calls).toEqual(['start held'])
    capture.agents(1)
    expect(calls).toEqual(['start held', 'release'])
    vi.advanceTimersByTime(60_000)
    expect(calls).toEqual(['start held', 'release'])
  })

  test('started ahead and nobody counted: what it holds is dropped unsent, at once', () => {
    const { calls, capture } = recorder()
    capture.begin(true)
    capture.opened(false)
    capture.agents(0)
    expect(calls).toEqual(['start held', 'stop'])
    expect(capture.recording).toBe(false)
    // The next agent starts it afresh.
    capture.agents(1)
    expect(calls).toEqual(['start held', 'stop', 'start'])
  })

  test('a page told nobody watched does not start ahead; an old server gets what was held', () => {
    const first = recorder()
    first.capture.begin(false)
    first.capture.opened(false)
    expect(first.calls).toEqual([])
    const old = recorder()
    old.capture.begin(true)
    old.capture.opened(false)
    vi.advanceTimersByTime(AGENTS_WAIT_MS)
    expect(old.calls).toEqual(['start held', 'release'])
  })

  test('a count that is not one is ignored', () => {
    const { calls, capture } = recorder()
    capture.opened(false)
    for (const count of [-1, 1.5, '2', null, undefined]) capture.agents(count)
    expect(calls).toEqual([])
    capture.close()
    vi.advanceTimersByTime(60_000)
    expect(calls).toEqual([])
  })
})
