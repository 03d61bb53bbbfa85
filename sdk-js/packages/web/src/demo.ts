// The demo customer page served at /demo: starts the SDK (loaded by the page's own
// /sdk-js/tandem.js tag) with the license in the page's URL, and offers "get a code".
import type { start as Start } from './index.js'

async function main (): Promise<void> {
  const { start } = (window as any).Tandem as { start: typeof Start }
  const params = new URLSearchParams(location.search)
  const license = params.get('license') ?? ''
  // What agents find this device by, in words (the dashboard lists custom data as it is).
  const customData: Record<string, string> = { site: 'Demo shop' }
  const userId = params.get('user_id')
  if (userId) customData.user_id = userId
  const status = document.getElementById('status') as HTMLElement
  const getCode = document.getElementById('get-code') as HTMLButtonElement
  const page = Number(params.get('page') ?? '1')
  ;(document.getElementById('page-name') as HTMLElement).textContent = `Page ${page}`
  const next = new URL(location.href)
  next.searchParams.set('page', String(page + 1))
  ;(document.getElementById('next') as HTMLAnchorElement).href = next.toString()
  const problem = (text: string): void => {
    status.textContent = text
    status.classList.add('problem')
    getCode.disabled = true
  }
  if (!license) {
    problem('This page needs your account\'s license key in its address (/demo?license=…). ' +
      'The server prints the whole link when it starts.')
    return
  }
  try {
    // ?redact=<selector> and ?unredact=<selector> (repeatable) try out page-level redaction;
    // ?locale=fr (or de) the built-in UI in another language.
    const tandem = await start({
      license,
      customData,
      locale: params.get('locale') ?? undefined,
      redactionSelectors: params.getAll('redact'),
      unredactionSelectors: params.getAll('unredact')
    })
    ;(window as any).tandem = tandem
    status.textContent = 'Ready: get a support code and read it to an agent.'
    getCode.addEventListener('click', () => {
      void tandem.createSessionCode()
    })
  } catch (e) {
    const status401 = (e as { status?: number }).status === 401
    problem(status401
      ? 'This license key is not one this server knows: check the ?license= part of the address.'
      : `The Tandem web SDK could not start: ${(e as Error).message}`)
  }
}

void main()
