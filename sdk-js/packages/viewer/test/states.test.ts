import { describe, expect, it } from 'vitest'
import { ENDS, endKind, lastSession, quality } from '../src/states.js'
import { colourName } from '../src/tools.js'

describe('how a session ended, in words', () => {
  it('tells a declined consent apart from an end', () => {
    expect(endKind({ ended_reason: 'device_ended', activated: null }, false)).toBe('declined')
    expect(endKind({ ended_reason: 'device_ended', activated: '2026-11-30T00:00:00Z' }, false)).toBe('customer')
    expect(ENDS.declined.title).not.toBe(ENDS.customer.title)
  })
  it('says who ended it and which timeout', () => {
    const active = '2026-11-30T00:00:00Z'
    expect(endKind({ ended_reason: 'agent_ended', activated: active }, true)).toBe('you')
    expect(endKind({ ended_reason: 'agent_ended', activated: active }, false)).toBe('agent')
    expect(endKind({ ended_reason: 'agent_ended', activated: null }, true)).toBe('cancelled')
    expect(endKind({ ended_reason: 'active_timeout', activated: active }, false)).toBe('inactive')
    expect(endKind({ ended_reason: 'authorizing_timeout' }, false)).toBe('unanswered')
  })
  it('never shows a raw code', () => {
    for (const end of Object.values(ENDS)) expect(`${end.status} ${end.title} ${end.text}`).not.toMatch(/_ended|_timeout/)
    expect(lastSession('customer')).toBe('Your last session: the customer ended the session.')
    expect(lastSession('<script>')).toBeNull()
  })
  it('names connection quality and colours', () => {
    expect([quality(40), quality(200), quality(900)]).toEqual(['Good', 'Fair', 'Poor'])
    expect(colourName('#4f46e5')).toBe('Indigo')
    expect(colourName('#ff0000')).toBe('Red')
  })
})
