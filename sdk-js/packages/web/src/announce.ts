// What the agent gestures at, said to the customer's screen reader (Glance's accessibility
// mode, which the agent turns on): the viewer names an element of this page by the recorder's
// node id (`announce {id, gesture}`); this finds the element a person would name (the button
// around the icon the pointer is on, say), works out its accessible name and role from the page
// itself, and puts "<agent> is pointing at <name>, <role>" in a polite live region. The region
// is one of the SDK's own elements: the recorder never sends it to the agents.
import { record } from '@rrweb/record'
import { phrase, serviceClass, uiLang } from './ui.js'

/** Roles a person would name when pointed near: controls, links, headings, images, landmarks. */
const NAMED_ROLES = new Set(['button', 'link', 'textbox', 'searchbox', 'checkbox', 'radio', 'switch', 'combobox',
  'listbox', 'option', 'slider', 'spinbutton', 'tab', 'menuitem', 'heading', 'img', 'listitem', 'row', 'cell',
  'navigation', 'main', 'banner', 'contentinfo', 'complementary', 'form', 'region', 'dialog', 'table'])

/** Roles whose name comes from their content. */
const NAME_FROM_CONTENT = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'option', 'tab', 'menuitem',
  'heading', 'listitem', 'row', 'cell', 'text'])

const INPUT_ROLES: Record<string, string> = {
  button: 'button', submit: 'button', reset: 'button', image: 'button', checkbox: 'checkbox', radio: 'radio',
  range: 'slider', number: 'spinbutton', search: 'searchbox', email: 'textbox', tel: 'textbox', text: 'textbox',
  url: 'textbox', password: 'textbox'
}

/** The role of `el`: its `role` attribute, or what its element implies. */
export function roleOf (el: Element): string {
  const explicit = el.getAttribute('role')?.trim().split(/\s+/)[0]
  if (explicit) return explicit.toLowerCase()
  const tag = el.localName
  switch (tag) {
    case 'a': case 'area': return el.hasAttribute('href') ? 'link' : 'text'
    case 'button': case 'summary': return 'button'
    case 'input': {
      const type = (el.getAttribute('type') ?? 'text').toLowerCase()
      return type === 'hidden' ? 'text' : INPUT_ROLES[type] ?? 'textbox'
    }
    case 'textarea': return 'textbox'
    case 'select': return (el as HTMLSelectElement).multiple || (el as HTMLSelectElement).size > 1 ? 'listbox' : 'combobox'
    case 'option': return 'option'
    case 'img': return el.getAttribute('alt') === '' ? 'text' : 'img'
    case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6': return 'heading'
    case 'li': return 'listitem'
    case 'tr': return 'row'
    case 'td': case 'th': return 'cell'
    case 'table': return 'table'
    case 'nav': return 'navigation'
    case 'main': return 'main'
    case 'aside': return 'complementary'
    case 'form': return 'form'
    case 'dialog': return 'dialog'
    case 'header': return el.closest('article, aside, main, nav, section') ? 'text' : 'banner'
    case 'footer': return el.closest('article, aside, main, nav, section') ? 'text' : 'contentinfo'
    default: return 'text'
  }
}

function clean (text: string | null | undefined, max = 120): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

/** The text of `el` a screen reader would read for it: what is not hidden, alt text for images. */
function textOf (el: Element): string {
  if (el instanceof HTMLElement) {
    const clone = el.cloneNode(true) as HTMLElement
    for (const hidden of clone.querySelectorAll('[aria-hidden="true"], [hidden], script, style')) hidden.remove()
    for (const img of clone.querySelectorAll('img[alt]')) img.replaceWith(` ${img.getAttribute('alt') ?? ''} `)
    return clean(clone.textContent)
  }
  return clean(el.textContent)
}

/** The accessible name of `el`, by the usual precedence (aria-labelledby, aria-label, labels,
 * alt, content, title, placeholder). A field's value is never read. */
export function nameOf (el: Element, role = roleOf(el)): string {
  const doc = el.ownerDocument
  const labelledBy = el.getAttribute('aria-labelledby')
  if (labelledBy) {
    const text = clean(labelledBy.split(/\s+/).map((id) => doc.getElementById(id)).filter(Boolean).map((e) => textOf(e as Element)).join(' '))
    if (text) return text
  }
  const label = clean(el.getAttribute('aria-label'))
  if (label) return label
  if (el instanceof HTMLInputElement && ['button', 'submit', 'reset'].includes(el.type)) {
    return clean(el.value) || (el.type === 'reset' ? 'Reset' : el.type === 'submit' ? 'Submit' : '')
  }
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
    const labels = clean([...(el.labels ?? [])].map(textOf).join(' '))
    if (labels) return labels
  }
  if (el instanceof HTMLImageElement || (el instanceof HTMLInputElement && el.type === 'image')) {
    const alt = clean(el.getAttribute('alt'))
    if (alt) return alt
  }
  if (NAME_FROM_CONTENT.has(role)) {
    const text = textOf(el)
    if (text) return text
  }
  return clean(el.getAttribute('title')) || clean(el.getAttribute('placeholder'))
}

/** The element a person would name at `el`: itself or the nearest ancestor with a role worth
 * naming (up to the body); `el` itself when there is none. */
export function namedTarget (el: Element): Element {
  for (let at: Element | null = el; at && at !== el.ownerDocument.body; at = at.parentElement) {
    if (NAMED_ROLES.has(roleOf(at))) return at
  }
  return el
}

/** Role names as the customer's language says them (the SDK's UI language). */
const ROLE_WORDS: Record<string, Record<string, string>> = {
  en: { button: 'button', link: 'link', textbox: 'text field', searchbox: 'search field', checkbox: 'check box', radio: 'radio button', switch: 'switch', combobox: 'list box', listbox: 'list box', option: 'option', slider: 'slider', spinbutton: 'number field', tab: 'tab', menuitem: 'menu item', heading: 'heading', img: 'image', listitem: 'list item', row: 'row', cell: 'cell', navigation: 'navigation', main: 'main content', banner: 'banner', contentinfo: 'footer', complementary: 'aside', form: 'form', region: 'region', dialog: 'dialog', table: 'table', text: 'text' },
  fr: { button: 'bouton', link: 'lien', textbox: 'champ de saisie', searchbox: 'champ de recherche', checkbox: 'case à cocher', radio: 'bouton radio', switch: 'interrupteur', combobox: 'liste déroulante', listbox: 'liste', option: 'option', slider: 'curseur', spinbutton: 'champ numérique', tab: 'onglet', menuitem: 'élément de menu', heading: 'titre', img: 'image', listitem: 'élément de liste', row: 'ligne', cell: 'cellule', navigation: 'navigation', main: 'contenu principal', banner: 'bannière', contentinfo: 'pied de page', complementary: 'encadré', form: 'formulaire', region: 'région', dialog: 'boîte de dialogue', table: 'tableau', text: 'texte' },
  de: { button: 'Schaltfläche', link: 'Link', textbox: 'Eingabefeld', searchbox: 'Suchfeld', checkbox: 'Kontrollkästchen', radio: 'Optionsfeld', switch: 'Schalter', combobox: 'Auswahlliste', listbox: 'Liste', option: 'Option', slider: 'Schieberegler', spinbutton: 'Zahlenfeld', tab: 'Registerkarte', menuitem: 'Menüeintrag', heading: 'Überschrift', img: 'Bild', listitem: 'Listeneintrag', row: 'Zeile', cell: 'Zelle', navigation: 'Navigation', main: 'Hauptinhalt', banner: 'Kopfbereich', contentinfo: 'Fußbereich', complementary: 'Randbereich', form: 'Formular', region: 'Bereich', dialog: 'Dialog', table: 'Tabelle', text: 'Text' }
}

/** "<name>, <role>" for `el` (the role alone when it has no name), in `lang`. */
export function describe (el: Element, lang = 'en'): string {
  const target = namedTarget(el)
  const role = roleOf(target)
  const words = ROLE_WORDS[lang] ?? ROLE_WORDS.en
  const roleWord = words[role] ?? role
  const name = nameOf(target, role)
  return name ? `${name}, ${roleWord}` : roleWord
}

let region: HTMLElement | null = null
let pending: ReturnType<typeof setTimeout> | undefined

/** The live region, made on first use: a polite status, visually hidden. */
function liveRegion (): HTMLElement {
  if (region?.isConnected) return region
  region = document.createElement('div')
  region.id = 'tandem-announcer'
  region.className = serviceClass
  region.setAttribute('role', 'status')
  region.setAttribute('aria-live', 'polite')
  region.setAttribute('aria-atomic', 'true')
  region.setAttribute('style', 'position:fixed;left:0;top:0;width:1px;height:1px;margin:-1px;padding:0;' +
    'border:0;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap')
  document.body.append(region)
  return region
}

/**
 * `announce {id, gesture}` from the agent's viewer: says what is at node `id`. The element must
 * be on the page and not one of the SDK's own.
 */
export function announce (data: any, agentName: string): void {
  const id = typeof data?.id === 'number' ? data.id : NaN
  const node = Number.isInteger(id) ? record.mirror.getNode(id) : null
  const el = node instanceof Element ? node : node?.parentElement ?? null
  if (!el || !el.isConnected || el.closest(`.${serviceClass}`)) return
  const text = phrase(data?.gesture === 'draw' ? 'drawingOn' : 'pointingAt', { agent: agentName, element: describe(el, uiLang()) })
  const live = liveRegion()
  // A change of the region's text is what is spoken: cleared first, so that the same element
  // named twice is said twice; set a moment later, so that a region made just now is heard.
  live.textContent = ''
  clearTimeout(pending)
  pending = setTimeout(() => { live.textContent = text }, 100)
}

/** The session ended: the region goes. */
export function stopAnnouncing (): void {
  clearTimeout(pending)
  region?.remove()
  region = null
}
