// The shared differential frames (tests/security/frames.json, read by the relay's tests too):
// each one the SDKs refuse, or read as the file says.
import { describe, expect, test } from 'vitest'
import frames from '../../../../tests/security/frames.json'
import { decodeFrame, FrameError } from '../src/index.js'
import { fromHex } from './hex.js'

interface Case {
  name: string
  hex: string
  verdict: 'accept' | 'refuse'
  event?: string
  ack?: number
  data?: unknown
}

const cases = frames as Case[]
const bytes = fromHex
/** Integers that do not fit 32 bits arrive as bigints; JSON has only numbers. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? Number(v) : v))

test('the set holds refused and accepted frames', () => {
  expect(cases.filter((c) => c.verdict === 'refuse').length).toBeGreaterThan(50)
  expect(cases.filter((c) => c.verdict === 'accept').length).toBeGreaterThan(10)
})

describe('refused', () => {
  test.each(cases.filter((c) => c.verdict === 'refuse').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(() => decodeFrame(bytes(c.hex))).toThrow(FrameError)
  })
})

describe('accepted', () => {
  test.each(cases.filter((c) => c.verdict === 'accept').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const frame = decodeFrame(bytes(c.hex))
    expect(frame.event).toBe(c.event)
    if (c.ack !== undefined) expect(Number(frame.ack)).toBe(c.ack)
    if ('data' in c) expect(plain(frame.data)).toEqual(c.data)
  })
})
