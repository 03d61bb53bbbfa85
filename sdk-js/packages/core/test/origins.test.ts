import { expect, test } from 'vitest'
import { originMatches } from '../src/index.js'

test('origin patterns: `*` is any run without `/`, a lone `*` any origin, case-insensitive', () => {
  expect(originMatches(['https://help.example.com'], 'https://help.example.com')).toBe(true)
  expect(originMatches(['https://help.example.com'], 'https://HELP.example.com')).toBe(true)
  expect(originMatches(['https://*.example.com'], 'https://a.b.example.com')).toBe(true)
  expect(originMatches(['https://*.example.com'], 'https://example.com')).toBe(false)
  expect(originMatches(['https://*.example.com'], 'https://evil.test/x.example.com')).toBe(false)
  expect(originMatches(['http://localhost:*'], 'http://localhost:8080')).toBe(true)
  expect(originMatches(['https://help.example.com'], 'https://help.example.com.evil.test')).toBe(false)
  expect(originMatches(['https://help.example.c.m'], 'https://help.example.com')).toBe(false)
  expect(originMatches(['*'], 'https://anything.test')).toBe(true)
  expect(originMatches([], 'https://help.example.com')).toBe(false)
})
