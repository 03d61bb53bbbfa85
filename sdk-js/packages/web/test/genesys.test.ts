// The Genesys layer's parts that need no page: signals that act like deferreds, both shapes of
// media adapter, the end reasons and the UI's words.
import { describe, expect, test, vi } from 'vitest'
import { agentConnected, initializeMedia, sendToken, startMessage } from '../src/genesys/adapter.js'
import { endReason } from '../src/genesys/cobrowse.js'
import { GENESYS_MESSAGES, genesysMessages } from '../src/genesys/messages.js'
import { Signal } from '../src/genesys/signal.js'

describe('signals', () => {
  test('callbacks hear each dispatch in order; one added late hears the last at once', () => {
    const s = new Signal()
    const heard: unknown[] = []
    s.add((a: unknown, b: unknown) => heard.push(['first', a, b]))
    s.dispatch(1, 'x')
    s.dispatch(2, 'y')
    s.add((a: unknown) => heard.push(['late', a]))
    expect(heard).toEqual([['first', 1, 'x'], ['first', 2, 'y'], ['late', 2]])
  })

  test('addOnce runs once; remove stops a callback; forget drops the past', () => {
    const s = new Signal()
    const once = vi.fn()
    const kept = vi.fn()
    s.addOnce(once)
    s.add(kept)
    s.dispatch('a')
    s.dispatch('b')
    expect(once.mock.calls).toEqual([['a']])
    s.remove(kept)
    s.dispatch('c')
    expect(kept.mock.calls).toEqual([['a'], ['b']])
    const late = vi.fn()
    s.addOnce(late)
    expect(late.mock.calls).toEqual([['c']])
    s.forget()
    const fresh = vi.fn()
    s.add(fresh)
    expect(fresh).not.toHaveBeenCalled()
  })

  test('a signal that keeps all replays every past dispatch; a throwing callback stops nothing', () => {
    const s = new Signal('all')
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    s.add(() => { throw new Error('page bug') })
    s.dispatch('one')
    s.dispatch('two')
    const late = vi.fn()
    s.add(late)
    expect(late.mock.calls).toEqual([['one'], ['two']])
    expect(error).toHaveBeenCalledTimes(2)
    error.mockRestore()
    expect(() => s.add('nope' as any)).toThrow(TypeError)
    s.prune((args) => args[0] !== 'one')
    const pruned = vi.fn()
    s.add(pruned)
    expect(pruned.mock.calls).toEqual([['two']])
  })
})

describe('media adapters', () => {
  test('Genesys adapters are ready when they call done, not before', async () => {
    let done: () => void = () => {}
    const media = { initializeAsync: (d: () => void) => { done = d } }
    let ready = false
    const waiting = initializeMedia(media).then(() => { ready = true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ready).toBe(false)
    done()
    await waiting
    expect(ready).toBe(true)
  })

  test('Tandem adapters are ready when their promise settles; a failing one counts as ready', async () => {
    const order: string[] = []
    await initializeMedia({ initializeAsync: async () => { order.push('init') } })
    order.push('after')
    expect(order).toEqual(['init', 'after'])
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    await initializeMedia({ initializeAsync: (done: () => void) => { throw new Error(`no chat for ${typeof done}`) } })
    await initializeMedia({ initializeAsync: async () => { throw new Error('no chat') } })
    expect(error).toHaveBeenCalledTimes(2)
    error.mockRestore()
    await initializeMedia(undefined)
  })

  test('the token goes to sendCbSessionToken as is, to sendSessionToken as {start:<token>}', async () => {
    const genesys = vi.fn()
    const tandem = vi.fn()
    expect(await sendToken({ sendCbSessionToken: genesys, sendSessionToken: tandem }, '123456789')).toBe(true)
    expect(genesys).toHaveBeenCalledWith('123456789')
    expect(tandem).not.toHaveBeenCalled()
    expect(await sendToken({ sendSessionToken: tandem }, '123456789')).toBe(true)
    expect(tandem).toHaveBeenCalledWith('{start:123456789}')
    expect(await sendToken({}, '123456789')).toBe(false)
    expect(startMessage('987654321')).toMatch(/^\{start:\d{9}\}$/)
  })

  test('whether an agent is connected: yes, no, or cannot tell', () => {
    expect(agentConnected({ isAgentConnected: () => true })).toBe(true)
    expect(agentConnected({ isAgentConnected: () => false })).toBe(false)
    expect(agentConnected({})).toBe(null)
    expect(agentConnected(undefined)).toBe(null)
  })
})

test('Tandem\'s end reasons in Genesys\'s words', () => {
  expect(endReason('device_ended')).toBe('self')
  expect(endReason('agent_ended')).toBe('external')
  expect(endReason('pending_timeout')).toBe('inactivityTimeout')
  expect(endReason('authorizing_timeout')).toBe('timeout')
  expect(endReason('active_timeout')).toBe('timeout')
  expect(endReason('limit_enforcement')).toBe(undefined)
  expect(endReason(null)).toBe(undefined)
})

test('every language of the Genesys UI says everything English says', () => {
  for (const [lang, table] of Object.entries(GENESYS_MESSAGES)) {
    expect(Object.keys(table).sort(), lang).toEqual(Object.keys(GENESYS_MESSAGES.en).sort())
    for (const text of Object.values(table)) expect(text.trim()).not.toBe('')
  }
  expect(genesysMessages('fr-CA').lang).toBe('fr')
  expect(genesysMessages('ja').lang).toBe('en')
})
