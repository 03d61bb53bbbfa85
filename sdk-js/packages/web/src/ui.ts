// The SDK's own interface: the 6-digit code, the consent prompt and the session banner. Every
// element carries the `tandem-service` class, which the recorder blocks, so agents never see it.

const SERVICE = 'tandem-service'

/**
 * Where the SDK's boxes stack, bottom right: questions above the session banner. The recorder
 * sees only `#tandem-ui`, a fixed point of no size (the boxes hang from it), so the agent's copy
 * of the page has nothing of it: no box in the page's flow, no extra height.
 */
function stack (): HTMLElement {
  let el = document.getElementById('tandem-stack')
  if (!el) {
    const host = document.createElement('div')
    host.id = 'tandem-ui'
    host.className = SERVICE
    host.setAttribute('style', 'position:fixed;z-index:2147483647;right:16px;bottom:16px;width:0;height:0')
    el = document.createElement('div')
    el.id = 'tandem-stack'
    el.className = SERVICE
    el.setAttribute('style', 'position:absolute;right:0;bottom:0;width:max-content;max-width:320px;' +
      'display:flex;flex-direction:column;gap:8px')
    host.appendChild(el)
    followTopLayer(host)
  }
  return el
}

/**
 * Where the SDK's boxes must live to be seen and clicked: inside the page's topmost modal
 * dialog when one is open (a modal dialog makes everything outside it inert, and covers it),
 * else inside the element in fullscreen, else the body.
 */
function topLayerHome (): Element {
  try {
    const modals = document.querySelectorAll('dialog:modal')
    if (modals.length) return modals[modals.length - 1]
  } catch {
    // A browser without :modal: the body.
  }
  return document.fullscreenElement ?? document.body
}

/** Keeps `host` where the customer can reach it as the page opens and closes dialogs. */
function followTopLayer (host: HTMLElement): void {
  const rehome = (): void => {
    const home = topLayerHome()
    if (host.parentElement !== home) home.appendChild(host)
  }
  rehome()
  new MutationObserver(rehome).observe(document.documentElement, { subtree: true, attributeFilter: ['open'] })
  document.addEventListener('fullscreenchange', rehome)
}

function box (id: string): HTMLElement {
  document.getElementById(id)?.remove()
  const el = document.createElement('div')
  el.id = id
  el.className = SERVICE
  el.setAttribute('style', `order:${id === 'tandem-banner' ? 2 : 1};padding:14px 16px;border-radius:10px;` +
    'background:#111827;color:#fff;font:14px/1.4 system-ui,sans-serif;box-shadow:0 8px 24px rgba(0,0,0,.25)')
  stack().appendChild(el)
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

/** A question with two answers, in a box of its own (`id`). */
function ask (id: string, question: string, labels: [string, string], answer: (yes: boolean) => void): void {
  const el = box(id)
  el.textContent = question
  el.appendChild(button(labels[0], () => { el.remove(); answer(true) }))
  el.appendChild(button(labels[1], () => { el.remove(); answer(false) }))
}

export function askConsent (agent: string, answer: (yes: boolean) => void): void {
  ask('tandem-consent', `${agent} would like to see this page.`, ['Allow', 'Decline'], answer)
}

export function askControl (agent: string, answer: (yes: boolean) => void): void {
  ask('tandem-control-request', `${agent} would like to control this page (click and type for you).`,
    ['Allow', 'Decline'], answer)
}

export function confirm (question: string): Promise<boolean> {
  return new Promise((resolve) => ask('tandem-confirm', question, ['Yes', 'No'], resolve))
}

/**
 * The banner while a session is active: who is viewing (or has control), with an end button,
 * and a button to take control back while the agent has it.
 */
export function showBanner (agent: string, end: () => void, stopControl?: () => void): void {
  document.getElementById('tandem-code')?.remove()
  const el = box('tandem-banner')
  el.textContent = stopControl ? `${agent} has control of this page.` : `${agent} is viewing this page.`
  el.appendChild(button('End', end))
  if (stopControl) el.appendChild(button('Stop control', stopControl))
}

export function clear (): void {
  for (const id of ['tandem-code', 'tandem-consent', 'tandem-banner', 'tandem-control-request', 'tandem-confirm']) {
    document.getElementById(id)?.remove()
  }
}

export const serviceClass = SERVICE
