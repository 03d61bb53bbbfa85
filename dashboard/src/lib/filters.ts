// The console's filters: custom-data conditions typed as `key=value`, and the code field.

export interface Filter { key: string, value: string }

/**
 * Parses `user_id=u-1, plan=pro` (commas or new lines) into filters; returns an error in words
 * for anything that is not `key=value` with a key of letters, digits, `_` or `-`.
 */
export function parseFilters (text: string): { filters: Filter[], error: string | null } {
  const filters: Filter[] = []
  for (const part of text.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf('=')
    const key = at > 0 ? part.slice(0, at).trim() : ''
    const value = at > 0 ? part.slice(at + 1).trim() : ''
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(key) || value === '') {
      return { filters: [], error: `"${part}" is not a filter: write key=value, e.g. user_id=u-123` }
    }
    filters.push({ key, value })
  }
  return { filters, error: null }
}

/** `{filter_<key>: value}` for the list query. */
export function filterQuery (filters: Filter[]): Record<`filter_${string}`, string> {
  const query: Record<`filter_${string}`, string> = {}
  for (const f of filters) query[`filter_${f.key}`] = f.value
  return query
}

/** The filters as the URL keeps them (`?f=user_id%3Du-1`), and back. */
export function filtersToText (filters: Filter[]): string {
  return filters.map((f) => `${f.key}=${f.value}`).join(', ')
}

/**
 * What the agent typed in the code field: a 6-digit code or a 9-digit session token (spaces,
 * dashes and a `{start:…}` chat message allowed), or an error in words.
 */
export function parseCode (text: string): { code: string | null, error: string | null } {
  const start = /\{\s*start\s*:\s*(\d{9})\s*\}/.exec(text)
  const digits = start ? start[1] : text.replace(/[\s-]/g, '')
  if (/^\d{6}$/.test(digits) || /^\d{9}$/.test(digits)) return { code: digits, error: null }
  if (digits === '') return { code: null, error: 'Type the 6-digit code the customer reads to you, or a 9-digit session token' }
  return { code: null, error: 'A code has 6 digits and a session token 9; check what the customer read out' }
}
