// The SDK's own interface: the 6-digit code, the consent prompt and the session banner. Every
// element carries the `tandem-service` class, which the recorder blocks, so agents never see it.

const SERVICE = 'tandem-service'

function box (id: string): HTMLElement {
  document.getElementById(id)?.remove()
  const el = document.createElement('div')
  el.id = id
  el.className = SERVICE
  el.setAttribute('style', 'position:fixed;z-index:2147483647;right:16px;bottom:16px;max-width:320px;' +
    'padding:14px 16px;border-radius:10px;background:#111827;color:#fff;font:14px/1.4 system-ui,sans-serif;' +
    'box-shadow:0 8px 24px rgba(0,0,0,.25)')
  document.body.appendChild(el)
  return el
}

function button (label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button')
  b.textContent = label
  b.className = SERVICE
  b.setAttribute('style', 'margin:10px 8px 0 0;padding:6px 12px;border:0;border-radius:6px;cursor:pointer')
  b.addEventListener('click', onClick)
  return b
}

export function showCode (code: string): void {
  const el = box('tandem-code')
  el.textContent = 'Your support code: '
  const strong = document.createElement('strong')
  strong.id = 'tandem-code-value'
  strong.textContent = code.replace(/(\d{3})(\d{3})/, '$1 $2')
  strong.setAttribute('style', 'letter-spacing:2px;font-size:18px')
  el.appendChild(strong)
}

export function askConsent (agent: string, answer: (yes: boolean) => void): void {
  const el = box('tandem-consent')
  el.textContent = `${agent} would like to see this page.`
  el.appendChild(button('Allow', () => { el.remove(); answer(true) }))
  el.appendChild(button('Decline', () => { el.remove(); answer(false) }))
}

export function showBanner (agent: string, end: () => void): void {
  document.getElementById('tandem-code')?.remove()
  const el = box('tandem-banner')
  el.textContent = `${agent} is viewing this page.`
  el.appendChild(button('End', end))
}

export function clear (): void {
  for (const id of ['tandem-code', 'tandem-consent', 'tandem-banner']) document.getElementById(id)?.remove()
}

export const serviceClass = SERVICE
