// Origin patterns as the server reads them (`trusted_origins`, `navigation_origins`): `*`
// stands for any run of characters other than `/`, and a lone `*` for any origin.

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Whether `origin` (`scheme://host[:port]`) matches one of `patterns`. */
export function originMatches (patterns: readonly string[], origin: string): boolean {
  return patterns.some((p) => p === '*' ||
    new RegExp(`^${p.split('*').map(escape).join('[^/]*')}$`, 'i').test(origin))
}
