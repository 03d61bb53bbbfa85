// The recorder's own URL resolution (recorder/serialize.ts): a plain reference joined to the
// base's parts is what the URL parser makes of it, and anything else is left to the parser.
import { describe, expect, test } from 'vitest'
import { baseParts, resolvePlain } from '../src/recorder/serialize.js'

const BASES = [
  'http://127.0.0.1:8080/doc/library/functions.html',
  'https://shop.example/',
  'https://user:pw@shop.example:444/a/b/?q=1&r=2#top',
  'http://shop.example/dir/',
  'https://shop.example/caf%C3%A9/x.html?%20#frag'
]
const PLAIN = ['x.html', 'a/b/c.png', '/p/1/2', '/', '#', '#index-0', '#a:b/c', 'x.html#y', 'a//b', '~user/x-y_z.html', '...', '.x/y', 'x.']
const OTHER = ['./x', '../x', 'a/../b', 'a/.', '.', '..', '//cdn.example/x.js', 'x?y', 'x y', 'a\\b', 'mailto:x', 'http://o/x', 'a%2e/b',
  'é.html', '#a b', 'C:/x', 'x\t']

describe('a plain reference resolved without the URL parser', () => {
  test('is what the URL parser makes of it, against every kind of base', () => {
    for (const base of BASES) {
      const parts = baseParts(base)
      for (const value of PLAIN) expect(resolvePlain(parts, value), `${value} against ${base}`).toBe(new URL(value, base).href)
    }
  })

  test('any other reference is left to the URL parser', () => {
    const parts = baseParts(BASES[0])
    for (const value of OTHER) expect(resolvePlain(parts, value), value).toBeNull()
  })
})
