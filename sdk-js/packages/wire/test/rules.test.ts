// Each rule refuses on its own (a frame that breaks only that rule), for frames and for data.
import { encode } from 'cbor-x'
import { describe, expect, test } from 'vitest'
import { decodeData, decodeFrame, FrameError, MAX_DEPTH, type Rule } from '../src/index.js'
import { fromHex as hex, textHex as text, toHex } from './hex.js'

/** `{event: <name>, data: <data hex>}`. */
const withData = (data: string, event = 'message'): Uint8Array => hex(`a2 ${text('event')} ${text(event)} ${text('data')} ${data}`)

function ruleOf (run: () => unknown): Rule | 'accepted' {
  try {
    run()
    return 'accepted'
  } catch (error) {
    if (!(error instanceof FrameError)) throw error
    return error.rule
  }
}

test('a FrameError names the rule and the offset', () => {
  const error = (() => { try { decodeFrame(withData('c1 00')) } catch (e) { return e } })() as FrameError
  expect(error).toBeInstanceOf(FrameError)
  expect(error.name).toBe('FrameError')
  expect(error.rule).toBe('no-tags')
  expect(error.offset).toBe(withData('c1 00').length - 2)
  expect(error.message).toMatch(/no-tags/)
})

describe('one rule at a time, inside data', () => {
  const cases: Array<[string, string, Rule]> = [
    ['trailing byte after the data', `a0 00`, 'well-formed'],
    ['tag', `a1 ${text('x')} d8 1c ${text('y')}`, 'no-tags'],
    ['indefinite array', `9f 01 ff`, 'definite-lengths'],
    ['indefinite text', `7f ${text('a')} ff`, 'definite-lengths'],
    ['integer key', `a1 01 02`, 'text-keys'],
    ['repeated key', `a2 ${text('x')} 01 ${text('x')} 02`, 'unique-keys'],
    ['repeated key, one written with a longer head', `a2 ${text('x')} 01 7801 78 02`, 'unique-keys'],
    ['lone continuation byte', `61 80`, 'utf-8'],
    ['simple value 16', `f0`, 'simple-values'],
    ['simple value 255', `f8 ff`, 'simple-values'],
    ['integer with additional information 31', `1f`, 'well-formed']
  ]
  test.each(cases)('%s', (_name, data, rule) => {
    expect(ruleOf(() => decodeFrame(withData(data)))).toBe(rule)
  })
  test('the same keys in two different maps are fine', () => {
    expect(ruleOf(() => decodeFrame(withData(`82 a1 ${text('x')} 01 a1 ${text('x')} 02`)))).toBe('accepted')
  })
  test('a key of an outer map may come again inside a map that is its value', () => {
    expect(decodeFrame(withData(`a2 ${text('x')} a1 ${text('x')} 01 ${text('y')} 02`)).data).toEqual({ x: { x: 1 }, y: 2 })
  })
})

test('a map of many keys: a repeat is found however far apart', () => {
  const keys = Array.from({ length: 300 }, (_, i) => `k${i}`)
  const unique = Object.fromEntries(keys.map((k, i) => [k, i]))
  expect(decodeData(encode(unique))).toEqual(unique)
  const body = toHex(encode(unique))
  // Key k7 again as the 301st pair: a map header of 301 (b9 012d), then the 300 pairs, then k7: 0.
  const repeated = `b9012d${body.slice(6)}${text('k7')}00`
  expect(ruleOf(() => decodeData(hex(repeated)))).toBe('unique-keys')
})

describe('depth', () => {
  const nested = (containers: number): Uint8Array => {
    const b = new Uint8Array(containers + 1)
    b.fill(0x81, 0, containers)
    b[containers] = 0x00
    return b
  }
  test(`${MAX_DEPTH} containers pass the rules, one more does not`, () => {
    expect(ruleOf(() => decodeData(nested(MAX_DEPTH + 1)))).toBe('depth')
    // The rules allow 4096; cbor-x's recursion may run out of stack before that, which is a
    // refusal too (`decode`), never a different reading.
    expect(['accepted', 'decode']).toContain(ruleOf(() => decodeData(nested(MAX_DEPTH))))
    expect(ruleOf(() => decodeData(nested(1000)))).toBe('accepted')
  })
  test('an empty container counts', () => {
    const b = nested(MAX_DEPTH + 1)
    b[MAX_DEPTH] = 0x80 // the innermost array is empty
    expect(ruleOf(() => decodeData(b.subarray(0, MAX_DEPTH + 1)))).toBe('depth')
  })
  test('a very deep frame is refused without running out of stack', () => {
    expect(ruleOf(() => decodeData(nested(1_000_000)))).toBe('depth')
  })
})

describe('data has any shape; a frame does not', () => {
  test.each([['a text', text('control')], ['an array', '82 01 02'], ['null', 'f6'], ['a float', 'fb 3ff8000000000000']])('%s', (_name, h) => {
    expect(ruleOf(() => decodeData(hex(h)))).toBe('accepted')
    expect(ruleOf(() => decodeFrame(hex(h)))).toBe('frame-shape')
  })
})

test('a count bigger than what is left is refused before anything is read', () => {
  expect(ruleOf(() => decodeData(hex('9b 00000000ffffffff')))).toBe('well-formed')
  expect(ruleOf(() => decodeData(hex('bb ffffffffffffffff')))).toBe('well-formed')
  expect(ruleOf(() => decodeData(hex('5b 0000000100000000 00')))).toBe('well-formed')
})

test('ids and acks past 32 bits are read exactly', () => {
  const frame = decodeFrame(hex(`a2 ${text('event')} ${text('ping')} ${text('id')} 1b 0000000100000000`))
  expect(BigInt(frame.id as bigint)).toBe(2n ** 32n)
  expect(BigInt(decodeFrame(hex(`a1 ${text('ack')} 1b ffffffffffffffff`)).ack as bigint)).toBe(2n ** 64n - 1n)
})
