// The demo customer page served at /demo: starts the SDK (loaded by the page's own
// /sdk-js/tandem.js tag) with the license in the page's URL, and offers "get a code".
import type { start as Start } from './index.js'

async function main (): Promise<void> {
  const { start } = (window as any).Tandem as { start: typeof Start }
  const params = new URLSearchParams(location.search)
  const license = params.get('license') ?? ''
  const customData: Record<string, string | boolean> = { demo: true }
  const userId = params.get('user_id')
  if (userId) customData.user_id = userId
  const status = document.getElementById('status') as HTMLElement
  const page = Number(params.get('page') ?? '1')
  ;(document.getElementById('page-name') as HTMLElement).textContent = `Page ${page}`
  const next = new URL(location.href)
  next.searchParams.set('page', String(page + 1))
  ;(document.getElementById('next') as HTMLAnchorElement).href = next.toString()
  try {
    // ?redact=<selector> and ?unredact=<selector> (repeatable) try out page-level redaction.
    const tandem = await start({
      license,
      customData,
      redactionSelectors: params.getAll('redact'),
      unredactionSelectors: params.getAll('unredact')
    })
    ;(window as any).tandem = tandem
    status.textContent = `Ready (device ${tandem.deviceId.slice(0, 8)})`
    document.getElementById('get-code')?.addEventListener('click', () => {
      void tandem.createSessionCode()
    })
  } catch (e) {
    status.textContent = `Tandem could not start: ${(e as Error).message}`
  }
}

void main()
