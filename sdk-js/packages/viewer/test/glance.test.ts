// Glance's viewer URL read into a key, and the accessibility announcements' timing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { glanceKey, spaced, started } from '../src/glance.js'
import { Gestures, REST_MS } from '../src/gestures.js'

const key = (query: string) => glanceKey(new URLSearchParams(query))

describe('the Glance viewer URL', () => {
  it('takes ssncode or visitorid (SessionKey), in any case, and wait=1', () => {
    expect(key('ssncode=482913&wait=1')).toEqual({ kind: 'ssncode', value: '482913', wait: true })
    expect(key('SsnCode=482%20913')).toEqual({ kind: 'ssncode', value: '482913', wait: false })
    expect(key('VisitorId=59204gh-42&Wait=1')).toEqual({ kind: 'visitorid', value: '59204gh-42', wait: true })
    expect(key('SessionKey=59204gh-42&token_source=postMessage')).toEqual({ kind: 'visitorid', value: '59204gh-42', wait: false })
  })
  it('says in words what is wrong with a link', () => {
    for (const bad of ['', 'wait=1', 'ssncode=12', 'ssncode=1234567', 'ssncode=abcdef', 'visitorid=', `visitorid=${'x'.repeat(257)}`,
      'visitorid=a%0Ab', 'ssncode=482913&visitorid=v']) {
      const found = key(bad)
      expect('error' in found, bad).toBe(true)
      expect((found as { error: string }).error).not.toMatch(/_/)
    }
  })
  it('reads a code as people do, and knows a started session', () => {
    expect(spaced('482913')).toBe('482 913')
    expect(started({ state: 'pending', device: null })).toBe(false)
    expect(started({ state: 'pending', device: { platform: 'web' } })).toBe(true)
    expect(started({ state: 'authorizing', device: null })).toBe(true)
  })
})

describe('accessibility announcements', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('say nothing while off', () => {
    const sent: unknown[] = []
    const g = new Gestures((e, d) => sent.push([e, d]))
    g.on('move', 7)
    g.on('click', 7)
    g.on('draw', 7)
    vi.advanceTimersByTime(REST_MS * 2)
    expect(sent).toEqual([])
  })

  it('name the element a pointer rests on once, and clicks and drawings at once', () => {
    const sent: unknown[] = []
    const g = new Gestures((e, d) => sent.push([e, d]))
    g.set(true)
    g.on('move', 7)
    vi.advanceTimersByTime(REST_MS - 1)
    g.on('move', 8)
    vi.advanceTimersByTime(REST_MS - 1)
    expect(sent).toEqual([])
    g.on('move', 8)
    vi.advanceTimersByTime(1)
    expect(sent).toEqual([['announce', { id: 8, gesture: 'point' }]])
    g.on('move', 8)
    vi.advanceTimersByTime(REST_MS)
    expect(sent.length).toBe(1)
    g.on('draw', 9)
    g.on('click', 9)
    expect(sent.slice(1)).toEqual([['announce', { id: 9, gesture: 'draw' }], ['announce', { id: 9, gesture: 'point' }]])
    g.set(false)
    g.on('click', 3)
    expect(sent.length).toBe(3)
  })
})
