// The customer's web fonts reach the mirror through the server's relay (`/assets/<key>/<url>`,
// `asset_url` from the session's tokens): browsers fetch fonts with CORS, which the customer's
// site rarely allows for another origin, so fetched directly the mirror's text would reflow in
// a fallback font. Only `@font-face` sources are rewritten; every other URL is left alone.

const FONT_FACE = /@font-face\s*\{[^}]*\}/gi
const URL_IN_CSS = /url\(\s*(['"]?)([^'")]+)\1\s*\)/gi

function base64url (text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The relayed address of a font at `url`, or null for one that needs no relay. */
export function relayedUrl (relay: string, url: string, here = location.origin): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.origin === here) return null
  return relay + base64url(parsed.href)
}

/** CSS text with its `@font-face` sources pointed at the relay. */
export function relayFontsInCss (css: string, relay: string, here = location.origin): string {
  return css.replace(FONT_FACE, (rule) => rule.replace(URL_IN_CSS, (whole, _quote: string, url: string) => {
    const relayed = relayedUrl(relay, url.trim(), here)
    return relayed ? `url("${relayed}")` : whole
  }))
}

/**
 * Points the `@font-face` sources in a recording event at the relay, in place: in style
 * elements' text, inlined stylesheets (`_cssText`), inserted rules and adopted stylesheets,
 * wherever CSS text is carried.
 */
export function relayFonts (event: unknown, relay: string): void {
  if (!relay) return
  const visit = (value: any): any => {
    if (typeof value === 'string') {
      return value.includes('@font-face') ? relayFontsInCss(value, relay) : value
    }
    if (value && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const v = value[key]
        if (typeof v === 'string' ? v.includes('@font-face') : v && typeof v === 'object') value[key] = visit(v)
      }
    }
    return value
  }
  visit(event)
}
