// The built-in UI's words: every shipped language says everything English says, with the same
// placeholders. (That its design tokens match the design system's: e2e/customer-ui.test.mjs.)
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
