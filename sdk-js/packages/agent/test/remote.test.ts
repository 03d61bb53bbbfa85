import { describe, expect, it } from 'vitest'
import { parseStartMessage } from '../src/index.js'

describe('parseStartMessage', () => {
  it('reads the 9-digit token of a start message', () => {
    expect(parseStartMessage('{start:123456789}')).toBe('123456789')
    expect(parseStartMessage('  { start : 012345678 }\n')).toBe('012345678')
  })

  it('is null for anything else', () => {
    for (const text of ['', 'hello', '{start:12345678}', '{start:1234567890}', '{start:12345678a}',
      'please {start:123456789}', '{stop:123456789}', '{"start":123456789}']) {
      expect(parseStartMessage(text)).toBeNull()
    }
    expect(parseStartMessage(undefined as unknown as string)).toBeNull()
  })
})
