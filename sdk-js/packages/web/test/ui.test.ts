// The built-in UI's words and looks: every shipped language says everything English says,
// with the same placeholders, and the design tokens ui.ts carries match the design system's.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { fill, MESSAGES, messagesFor } from '../src/messages.js'

const placeholders = (s: string): string[] => (s.match(/\{\w+\}/g) ?? []).sort()

describe('messages', () => {
  test('every language has every string, with the placeholders English has', () => {
    for (const [lang, table] of Object.entries(MESSAGES)) {
      expect(Object.keys(table).sort(), lang).toEqual(Object.keys(MESSAGES.en).sort())
      for (const [key, text] of Object.entries(table)) {
        expect(text.trim(), `${lang}.${key}`).not.toBe('')
        expect(placeholders(text), `${lang}.${key}`).toEqual(placeholders(MESSAGES.en[key as keyof typeof table]))
      }
    }
  })

  test('a locale picks its language, English when it is not shipped, with overrides on top', () => {
    expect(messagesFor('fr-CA').lang).toBe('fr')
    expect(messagesFor('DE').messages.allow).toBe('Erlauben')
    expect(messagesFor('ja').lang).toBe('en')
    const { messages } = messagesFor('fr', { allow: 'Oui, allez-y' })
    expect(messages.allow).toBe('Oui, allez-y')
    expect(messages.decline).toBe('Refuser')
  })

  test('placeholders are filled, unknown ones left alone', () => {
    expect(fill('{agent} from {account} {x}', { agent: 'Marie', account: 'Acme' })).toBe('Marie from Acme {x}')
  })
})

test('the tokens ui.ts carries are the design system’s', () => {
  const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8')
  const pairs = (css: string): Array<[string, string]> =>
    [...css.matchAll(/(--t-[\w-]+):\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()])
  const design = new Map(pairs(read('../../design/tokens.css')))
  const ui = pairs(read('../src/ui.ts').split('const TOKENS = `')[1].split('`')[0])
  expect(ui.length).toBeGreaterThan(10)
  for (const [name, value] of ui) expect(value, name).toBe(design.get(name))
})
