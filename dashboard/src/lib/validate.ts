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

/** Splits a list written with commas, spaces or one item a line. */
export function listItems (text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter((s) => s !== '')
}

/** Email domains (`shop.example`): a host name, without `@`, scheme or path. */
export function domainsError (text: string): string | null {
  for (const d of listItems(text)) {
    if (d.includes('@')) return `"${d}" is an address: write only its domain (${d.slice(d.lastIndexOf('@') + 1) || 'shop.example'})`
    if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(d)) return `"${d}" is not a domain: write it like shop.example`
  }
  return null
}

/** An http(s) URL. */
export function httpUrlError (text: string, what = 'The address'): string | null {
  const t = text.trim()
  if (t === '') return `${what} is required`
  try {
    const url = new URL(t)
    if (url.protocol === 'https:' || url.protocol === 'http:') return null
  } catch { /* said below */ }
  return `"${t}" is not a web address: it starts with https://`
}

const CERT = /^-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----$/

/**
 * A certificate as PEM. What IdPs show bare (the base64 of `<X509Certificate>`) is wrapped in the
 * PEM armour; null when the text is neither.
 */
export function toPem (text: string): string | null {
  const t = text.trim()
  const m = CERT.exec(t)
  const body = m ? m[1] : /^[A-Za-z0-9+/=\s]+$/.test(t) ? t : null
  if (body === null) return null
  const b64 = body.replace(/\s+/g, '')
  if (b64.length < 64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return null
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? b64}\n-----END CERTIFICATE-----`
}

/** A signing certificate (PEM, or its bare base64); an empty text is `null` here. */
export function certificateError (text: string): string | null {
  const t = text.trim()
  if (t === '') return null
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t)) return 'That is a private key: paste the IdP’s certificate, never a private key'
  if (/-----BEGIN PUBLIC KEY-----/.test(t)) return 'That is a bare public key: paste the certificate (-----BEGIN CERTIFICATE-----)'
  if (toPem(t) === null) return 'A certificate starts with -----BEGIN CERTIFICATE----- and ends with -----END CERTIFICATE-----'
  return null
}

/** IdP metadata XML: an `EntityDescriptor` (or `EntitiesDescriptor`) document. */
export function metadataError (text: string): string | null {
  const t = text.trim()
  if (t === '') return 'Paste the identity provider’s metadata XML'
  if (!t.startsWith('<')) return 'Metadata is XML: it starts with <?xml or <EntityDescriptor'
  if (!/<([\w-]+:)?Entit(y|ies)Descriptor[\s>]/.test(t)) return 'This XML has no <EntityDescriptor>: it is not SAML metadata'
  return null
}
