// Validation of the account settings forms; each returns an error in words, or null.

/** Splits a textarea into its non-empty trimmed lines. */
export function lines (text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '')
}

/**
 * An origin pattern as the server takes them: `scheme://host[:port]`, where the host may start
 * with `*.` and the port may be `*`; no path, query or spaces.
 */
export function originError (origin: string): string | null {
  const m = /^(https?):\/\/(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(:(\d{1,5}|\*))?$/i.exec(origin)
  if (!m) return `"${origin}" is not an origin: write it like https://shop.example or https://*.shop.example (no path)`
  if (m[6] && m[6] !== '*' && Number(m[6]) > 65535) return `"${origin}" has a port above 65535`
  return null
}

/** The first error among a list of origins, naming the line. */
export function originsError (text: string): string | null {
  for (const o of lines(text)) {
    const e = originError(o)
    if (e) return e
  }
  return null
}

/** A CSS selector the browser can parse (checked with `check`, the DOM's own parser). */
export function selectorsError (text: string, check: (selector: string) => boolean = domSelectorOk): string | null {
  for (const s of lines(text)) {
    if (!check(s)) return `"${s}" is not a CSS selector the browser understands`
  }
  return null
}

function domSelectorOk (selector: string): boolean {
  try {
    document.createDocumentFragment().querySelector(selector)
    return true
  } catch {
    return false
  }
}

/** A code lifetime in minutes (the server keeps seconds): 1 minute to 24 hours. */
export function codeMinutesError (text: string): string | null {
  const n = Number(text)
  if (text.trim() === '' || !Number.isInteger(n)) return 'Write a whole number of minutes'
  if (n < 1 || n > 1440) return 'Between 1 minute and 24 hours (1440 minutes)'
  return null
}

/** `#rrggbb`. */
export function colourError (colour: string): string | null {
  return /^#[0-9a-f]{6}$/i.test(colour) ? null : `"${colour}" is not a colour written #rrggbb`
}

export function emailError (email: string): string | null {
  const e = email.trim()
  if (e === '') return 'Write an email address'
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) ? null : `"${e}" is not an email address`
}
