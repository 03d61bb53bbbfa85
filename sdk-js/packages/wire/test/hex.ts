// Bytes to and from hex, without Node's Buffer (the packages' tests type-check without Node's types).

export function fromHex (hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '')
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function toHex (bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A short text string (under 24 bytes) as CBOR, in hex. */
export function textHex (s: string): string {
  const b = new TextEncoder().encode(s)
  if (b.length >= 24) throw new Error('short strings only')
  return (0x60 + b.length).toString(16) + toHex(b)
}
