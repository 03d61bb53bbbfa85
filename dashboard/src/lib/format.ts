// How times, durations and custom data read in the console.

export function when (iso: string | Date | null | undefined): string {
  if (!iso) return '—'
  const d = typeof iso === 'string' ? new Date(iso) : iso
  if (Number.isNaN(d.getTime())) return '—'
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** `2 min ago`, `3 h ago`, `just now`. */
export function ago (iso: string | Date | null | undefined, now: number = Date.now()): string {
  if (!iso) return 'never'
  const t = (typeof iso === 'string' ? new Date(iso) : iso).getTime()
  if (Number.isNaN(t)) return 'never'
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 45) return 'just now'
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86_400)} d ago`
}

/** `45 s`, `3 min 5 s`, `1 h 2 min`. */
export function duration (secs: number | null | undefined): string {
  if (secs == null || !Number.isFinite(secs)) return '—'
  const s = Math.max(0, Math.round(secs))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** `user_id: u-1, plan: pro`, or `—`. */
export function customData (data: Record<string, unknown> | null | undefined): string {
  const entries = Object.entries(data ?? {})
  return entries.length ? entries.map(([k, v]) => `${k}: ${String(v)}`).join(', ') : '—'
}

/** A browser's name from its user agent, roughly. */
export function browserName (ua: string | null | undefined): string {
  if (!ua) return 'Unknown browser'
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'A browser'
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : ''
  return os ? `${browser} on ${os}` : browser
}

/** A device as people say it: `Chrome on Windows · Shop app`, from what its SDK reported. */
export function deviceLabel (info: Record<string, unknown> | null | undefined): string {
  if (!info) return '—'
  const device = typeof info.device === 'string' ? info.device : ''
  const what = /Mozilla\//.test(device) ? browserName(device) : device
  const parts = [what, info.os_version, info.app_name].filter((p) => typeof p === 'string' && p !== '')
  return parts.length ? parts.join(' · ') : String(info.platform ?? '—')
}
