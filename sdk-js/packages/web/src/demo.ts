// The demo customer page served at /demo: starts the SDK (loaded by the page's own
// /sdk-js/tandem.js tag) with the license in the page's URL, and offers "get a code".
import type { start as Start } from './index'

async function main (): Promise<void> {
  const { start } = (window as any).Tandem as { start: typeof Start }
  const license = new URLSearchParams(location.search).get('license') ?? ''
  const status = document.getElementById('status') as HTMLElement
  try {
    const tandem = await start({ license, customData: { demo: true } })
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
