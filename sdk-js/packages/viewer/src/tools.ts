// The agent's tools in the viewer: pointer, laser, drawing and remote control over the mirror,
// and navigation requests. Nothing is done to the mirror itself: every action goes to the
// customer's page as a stream event and is carried out there (and shows up in the recording).
import type { Replayer } from '@rrweb/replay'
import { APIError } from '@tandem/core'

export type Tool = 'pointer' | 'laser' | 'drawing' | 'control'
export const TOOLS: readonly Tool[] = ['pointer', 'laser', 'drawing', 'control']

/** What the tools need of the viewer. */
export interface ViewerSide {
  screen: HTMLElement
  replayer (): Replayer | null
  /** Sends an event on the session's stream (dropped while it is reconnecting). */
  send (event: string, data: unknown): void
  /** Asks the server to change the session's `remote_control`. */
  setRemoteControl (to: 'requested' | 'off'): Promise<void>
  notice (text: string): void
}

const SVG = 'http://www.w3.org/2000/svg'
/** Pointer and laser positions are sent at most this often, in ms. */
const MOVE_EVERY = 40
/** How long a point of the agent's own laser trail stays, in ms (as on the customer's page). */
const LASER_FADE = 900

/** The session's colours by name: swatches are named for people, not as hex. */
const COLOUR_NAMES: Record<string, string> = {
  '#4f46e5': 'Indigo',
  '#db2777': 'Pink',
  '#059669': 'Green',
  '#d97706': 'Amber',
  '#0891b2': 'Cyan',
  '#7c3aed': 'Violet',
  '#ef4444': 'Red',
  '#2563eb': 'Blue',
  '#111827': 'Black'
}

/** A colour's name, or a rough one from its hue for a colour not in the table. */
export function colourName (hex: string): string {
  const known = COLOUR_NAMES[hex.toLowerCase()]
  if (known) return known
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex)
  if (!m) return 'Colour'
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16) / 255)
  const max = Math.max(r, g, b)
  const min = Math.min(r, g, b)
  if (max - min < 0.1) return max > 0.8 ? 'White' : max < 0.25 ? 'Black' : 'Grey'
  const d = max - min
  const hue = (max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4) * 60
  const names: Array<[number, string]> = [[15, 'Red'], [45, 'Orange'], [70, 'Yellow'], [170, 'Green'], [200, 'Cyan'],
    [250, 'Blue'], [290, 'Violet'], [340, 'Pink'], [360, 'Red']]
  return names.find(([upTo]) => hue < upTo)?.[1] ?? 'Colour'
}

/** What the control affordance says in each state of `remote_control`. */
const CONTROL_LABELS: Record<string, string> = {
  off: 'Request control',
  requested: 'Waiting for the customer…',
  on: 'Stop control',
  rejected: 'Control declined · Ask again'
}
const CONTROL_TITLES: Record<string, string> = {
  off: 'Remote control (C): ask the customer to let you click and type on their page',
  requested: 'The customer is being asked to give you control',
  on: 'You can click and type on the customer\'s page with the pointer. Stop control (C)',
  rejected: 'The customer declined remote control. Ask again (C)'
}

function $ (id: string): HTMLElement {
  return document.getElementById(id) as HTMLElement
}

export class AgentTools {
  readonly #side: ViewerSide
  readonly #glass: HTMLElement
  /** The agent's own drawings, over the mirror, in the customer's document coordinates. */
  readonly #ink: SVGSVGElement
  /** The drawings, in document coordinates, moved with the customer's scroll. */
  readonly #inkLayer: SVGGElement
  /** The mirror window whose scroll the drawings follow. */
  #followed: Window | null = null
  #tool: Tool = 'pointer'
  #colour = '#4f46e5'
  /** The tools work only while the session is active and its stream is open. */
  #enabled = false
  /** The agent's own laser trail, in the customer's viewport coordinates. */
  readonly #laser: SVGPolylineElement
  #laserPoints: Array<{ x: number, y: number, t: number }> = []
  #laserFrame = 0
  #colours: string[] = []
  #control = 'off'
  /** The element the agent last clicked in control (keys go to it), by recorder node id. */
  #focused: number | null = null
  #lastMove = 0
  #stroke: { id: string, points: Array<[number, number]> } | null = null
  #strokes = 0
  #wheel = { dx: 0, dy: 0, id: 0, timer: 0 as ReturnType<typeof setTimeout> | 0 }
  #navigations = 0
  /**
   * Told which of the customer's elements (by node id) the agent gestures at, while someone
   * listens (the accessibility announcements, gestures.ts); null: nothing is looked up.
   */
  gesture: ((kind: 'move' | 'click' | 'draw', id: number) => void) | null = null

  constructor (side: ViewerSide) {
    this.#side = side
    this.#glass = document.createElement('div')
    this.#glass.id = 'glass'
    this.#glass.tabIndex = 0
    this.#ink = document.createElementNS(SVG, 'svg')
    this.#ink.id = 'ink'
    this.#inkLayer = document.createElementNS(SVG, 'g')
    this.#laser = document.createElementNS(SVG, 'polyline')
    this.#laser.id = 'agent-laser'
    this.#ink.append(this.#inkLayer, this.#laser)
    side.screen.append(this.#glass)
    this.#wire()
    this.setEnabled(false)
  }

  /** Whether the tools can work now (the session active, its stream connected). */
  setEnabled (on: boolean): void {
    this.#enabled = on
    const tools = $('tools')
    for (const b of tools.querySelectorAll<HTMLButtonElement>('#tool-group button')) {
      b.disabled = !on || (b.id === 'control' && this.#control === 'requested')
    }
    this.#glass.dataset.enabled = String(on)
  }

  get enabled (): boolean { return this.#enabled }

  /** Whether the agent's keys go to the customer's page (control on, an element clicked). */
  get typingForCustomer (): boolean {
    return this.#canControl() && this.#focused !== null
  }

  /** Asks for remote control, or gives it back. */
  toggleControl (): void {
    if (!this.#enabled || this.#control === 'requested') return
    this.#side.setRemoteControl(this.#control === 'on' ? 'off' : 'requested')
      .catch((err) => this.#side.notice(`Could not change remote control: ${(err as Error).message}`))
  }

  /** The session's colours, in order (for the 1–6 shortcuts). */
  get colours (): string[] { return this.#colours }

  /** The customer moved to another page: what was drawn over the last one goes. */
  pageChanged (): void {
    this.#inkLayer.replaceChildren()
    this.#laserPoints = []
    this.#laser.setAttribute('points', '')
  }

  get tool (): Tool { return this.#tool }

  /** Switches tool (from the toolbar or the embedding page). */
  setTool (tool: Tool): void {
    if (!TOOLS.includes(tool)) throw new APIError(`unknown tool ${String(tool)}`, { id: 'invalid_tool' })
    this.#tool = tool
    this.#glass.dataset.tool = tool
    // Control is the pointer's while the customer has given it: one button for both.
    const shown = tool === 'control' ? 'pointer' : tool
    for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-tool]')) {
      b.classList.toggle('on', b.dataset.tool === shown)
      b.setAttribute('aria-pressed', String(b.dataset.tool === shown))
    }
  }

  /** One of the session's colours. */
  setColour (colour: string): void {
    if (this.#colours.length && !this.#colours.includes(colour)) {
      throw new APIError(`colour must be one of ${this.#colours.join(', ')}`, { id: 'invalid_colour' })
    }
    this.#colour = colour
    for (const b of $('colours').querySelectorAll<HTMLButtonElement>('.swatch')) {
      b.setAttribute('aria-pressed', String(b.dataset.colour === colour))
    }
    this.#laser.setAttribute('stroke', colour)
  }

  /** Clears every drawing, here and on the customer's page. */
  clear (): void {
    this.pageChanged()
    this.#side.send('drawing', { clear: true })
  }

  /** The session changed: its colours and the state of remote control. */
  onSession (s: any): void {
    const colours: string[] = Array.isArray(s.colours) ? s.colours : []
    if (colours.join() !== this.#colours.join()) {
      this.#colours = colours
      $('colours').replaceChildren(...colours.map((c, i) => {
        const b = document.createElement('button')
        b.type = 'button'
        b.className = 'swatch'
        b.dataset.colour = c
        b.style.setProperty('--swatch', c)
        const name = colourName(c)
        b.setAttribute('aria-label', name)
        b.title = `${name} (${i + 1})`
        b.setAttribute('aria-keyshortcuts', String(i + 1))
        b.disabled = !this.#enabled
        b.addEventListener('click', () => this.setColour(c))
        return b
      }))
      const mine = s.agent?.colour
      this.setColour(colours.includes(mine) ? mine : colours[0] ?? this.#colour)
    }
    const before = this.#control
    this.#control = s.remote_control ?? 'off'
    const button = $('control') as HTMLButtonElement
    const state = CONTROL_LABELS[this.#control] ? this.#control : 'off'
    button.disabled = !this.#enabled || state === 'requested' || s.state !== 'active'
    button.dataset.state = state
    button.title = CONTROL_TITLES[state]
    button.setAttribute('aria-pressed', String(state === 'on'))
    if (state === 'requested') {
      const spin = document.createElement('span')
      spin.className = 't-spinner'
      spin.setAttribute('aria-hidden', 'true')
      button.replaceChildren(spin, CONTROL_LABELS[state])
    } else {
      button.textContent = CONTROL_LABELS[state]
    }
    $('tools').dataset.control = this.#control
    this.#glass.dataset.control = this.#control
    if (before !== this.#control) {
      if (this.#control === 'on') {
        this.#side.notice('The customer gave you control')
        this.setTool('control')
      } else if (this.#control === 'rejected') {
        this.#side.notice('The customer declined remote control')
      } else if (before === 'on') {
        this.#side.notice('Remote control is off')
        if (this.#tool === 'control') this.setTool('pointer')
      }
    }
  }

  /** Events from the customer's page about the tools. */
  onEvent (event: string, data: any): void {
    if (event === 'control-refused') this.#side.notice(`Not done: ${String(data?.reason ?? 'refused')}`)
    if (event === 'navigation') {
      const reason = data?.reason ? `: ${String(data.reason)}` : ''
      this.#side.notice(`Navigation ${String(data?.status ?? '')}${reason}`)
    }
  }

  /**
   * Asks the customer's page to go back, forward, reload or open `url`; `how` adds Glance's
   * `confirm`, `open` and `link` (the customer's page checks them).
   */
  navigate (action: 'back' | 'forward' | 'refresh' | 'url', url?: string, how: Record<string, unknown> = {}): number {
    this.#navigations += 1
    this.#side.send('navigate', { ...how, id: this.#navigations, action, url: url ?? null })
    this.#side.notice(action === 'url' ? `Asking to open ${url ?? ''}…` : `Asking to ${action}…`)
    return this.#navigations
  }

  /** The mirror's document, its wrapper's scale and box, and the customer's scroll. */
  #mirror (): { doc: Document, win: Window, box: DOMRect, scale: number } | null {
    const wrapper = this.#side.screen.querySelector<HTMLElement>('.replayer-wrapper')
    const frame = wrapper?.querySelector('iframe')
    const doc = frame?.contentDocument
    const win = frame?.contentWindow
    if (!wrapper || !frame || !doc || !win) return null
    const scale = Number(wrapper.dataset.scale ?? '1') || 1
    // The page starts inside the frame's border.
    const outer = frame.getBoundingClientRect()
    const box = new DOMRect(outer.left + frame.clientLeft * scale, outer.top + frame.clientTop * scale,
      frame.clientWidth * scale, frame.clientHeight * scale)
    return { doc, win, box, scale }
  }

  /** Where a mouse event falls in the customer's viewport (CSS pixels), if over the page. */
  #at (e: MouseEvent): { x: number, y: number, doc: Document, win: Window } | null {
    const m = this.#mirror()
    if (!m) return null
    const x = (e.clientX - m.box.left) / m.scale
    const y = (e.clientY - m.box.top) / m.scale
    if (x < 0 || y < 0 || x > m.box.width / m.scale || y > m.box.height / m.scale) return null
    return { x: Math.round(x), y: Math.round(y), doc: m.doc, win: m.win }
  }

  /** The recorder's id of the customer's element at a viewport point. */
  #nodeAt (doc: Document, x: number, y: number): { id: number, el: Element } | null {
    const el = doc.elementFromPoint(x, y)
    const id = el ? this.#side.replayer()?.getMirror().getId(el) : undefined
    return el && id && id > 0 ? { id, el } : null
  }

  /** Tells `gesture` which of the customer's elements is at the agent's pointer. */
  #gestureAt (kind: 'move' | 'click' | 'draw', at: { x: number, y: number, doc: Document }): void {
    const node = this.#nodeAt(at.doc, at.x, at.y)
    if (node) this.gesture?.(kind, node.id)
  }

  #canControl (): boolean {
    return (this.#tool === 'control' || this.#tool === 'pointer') && this.#control === 'on'
  }

  /** The agent's own laser trail, as the customer sees it (fading behind the pointer). */
  #laserPoint (x: number, y: number): void {
    this.#laserPoints.push({ x, y, t: performance.now() })
    this.#showInk()
    if (!this.#laserFrame) this.#laserFrame = requestAnimationFrame(() => this.#fadeLaser())
  }

  #fadeLaser (): void {
    this.#laserFrame = 0
    const now = performance.now()
    this.#laserPoints = this.#laserPoints.filter((p) => now - p.t < LASER_FADE)
    this.#laser.setAttribute('points', this.#laserPoints.map((p) => `${p.x},${p.y}`).join(' '))
    if (this.#laserPoints.length) this.#laserFrame = requestAnimationFrame(() => this.#fadeLaser())
  }

  /** The ink layer goes into the replayer's wrapper, so it scales with the mirror. */
  #showInk (): void {
    const wrapper = this.#side.screen.querySelector('.replayer-wrapper')
    if (wrapper && this.#ink.parentElement !== wrapper) wrapper.append(this.#ink)
  }

  #wire (): void {
    const glass = this.#glass
    glass.addEventListener('mousemove', (e) => {
      if (!this.#enabled) return
      const at = this.#at(e)
      if (!at) return
      if (this.#tool === 'laser') this.#laserPoint(at.x, at.y)
      if (this.gesture && !this.#stroke) this.#gestureAt('move', at)
      if (this.#stroke) {
        this.#stroke.points.push([at.x + at.win.scrollX, at.y + at.win.scrollY])
      }
      const now = performance.now()
      if (now - this.#lastMove < MOVE_EVERY) return
      this.#lastMove = now
      this.#side.send('pointer', { x: at.x, y: at.y, colour: this.#colour })
      if (this.#tool === 'laser') this.#side.send('laser', { x: at.x, y: at.y, colour: this.#colour })
      if (this.#stroke) this.#sendStroke()
    })
    glass.addEventListener('mouseleave', () => { this.#side.send('pointer', null) })
    glass.addEventListener('mousedown', (e) => {
      glass.focus({ preventScroll: true })
      const at = this.#at(e)
      if (!at || this.#tool !== 'drawing' || !this.#enabled) return
      this.#strokes += 1
      this.#stroke = { id: `${Date.now().toString(36)}-${this.#strokes}`, points: [[at.x + at.win.scrollX, at.y + at.win.scrollY]] }
      if (this.gesture) this.#gestureAt('draw', at)
    })
    addEventListener('mouseup', () => {
      if (!this.#stroke) return
      this.#sendStroke()
      this.#stroke = null
    })
    glass.addEventListener('click', (e) => {
      if (this.gesture && this.#enabled && this.#tool !== 'drawing') {
        const at = this.#at(e)
        if (at) this.#gestureAt('click', at)
      }
      if (!this.#canControl()) return
      const at = this.#at(e)
      const node = at && this.#nodeAt(at.doc, at.x, at.y)
      if (!at || !node) return
      this.#focused = node.id
      if (node.el.tagName === 'SELECT') return this.#choose(node.id, node.el as HTMLSelectElement, e)
      this.#side.send('control', { action: 'click', id: node.id, x: at.x, y: at.y })
    })
    // Keys go to the customer's element the agent last clicked, unless the agent is typing into
    // the viewer's own fields (the URL bar, say). Listened to on the window: the glass may have
    // lost focus to the mirror's frame.
    addEventListener('keydown', (e) => {
      if (!this.#canControl() || this.#focused === null || e.ctrlKey || e.metaKey || e.altKey) return
      const typingHere = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement ||
        e.target instanceof HTMLTextAreaElement
      if (typingHere) return
      if (e.key.length !== 1 && !['Backspace', 'Delete', 'Enter'].includes(e.key)) return
      e.preventDefault()
      this.#side.send('control', { action: 'key', id: this.#focused, key: e.key })
    })
    glass.addEventListener('wheel', (e) => {
      if (!this.#canControl()) return
      e.preventDefault()
      const at = this.#at(e)
      const node = at && this.#nodeAt(at.doc, at.x, at.y)
      const w = this.#wheel
      w.dx += e.deltaX
      w.dy += e.deltaY
      w.id = node?.id ?? w.id
      if (w.timer) return
      w.timer = setTimeout(() => {
        this.#side.send('control', { action: 'wheel', id: w.id, dx: Math.round(w.dx), dy: Math.round(w.dy) })
        w.dx = w.dy = 0
        w.timer = 0
      }, MOVE_EVERY)
    }, { passive: false })

    for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-tool]')) {
      b.addEventListener('click', () => this.setTool(b.dataset.tool as Tool))
    }
    $('clear').addEventListener('click', () => this.clear())
    $('control').addEventListener('click', () => this.toggleControl())
    $('nav-back').addEventListener('click', () => this.navigate('back'))
    $('nav-forward').addEventListener('click', () => this.navigate('forward'))
    $('nav-refresh').addEventListener('click', () => this.navigate('refresh'))
    $('nav-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const url = ($('nav-url') as HTMLInputElement).value.trim()
      if (url) this.navigate('url', url)
    })
  }

  /** Sends the stroke being drawn and shows it over the mirror. */
  #sendStroke (): void {
    const stroke = this.#stroke
    if (!stroke) return
    this.#side.send('drawing', { id: stroke.id, colour: this.#colour, points: stroke.points })
    this.#showInk()
    let line = this.#inkLayer.querySelector<SVGPolylineElement>(`[data-id="${stroke.id}"]`)
    if (!line) {
      line = document.createElementNS(SVG, 'polyline')
      line.dataset.id = stroke.id
      line.setAttribute('stroke', this.#colour)
      this.#inkLayer.append(line)
    }
    line.setAttribute('points', stroke.points.map(([x, y]) => `${x},${y}`).join(' '))
    this.#followScroll()
  }

  /** Keeps the agent's drawings where they were drawn on the page as the customer scrolls. */
  #followScroll (): void {
    const win = this.#mirror()?.win ?? null
    const place = (): void => {
      this.#inkLayer.setAttribute('transform', `translate(${-(win?.scrollX ?? 0)} ${-(win?.scrollY ?? 0)})`)
    }
    if (win && win !== this.#followed) {
      this.#followed = win
      win.addEventListener('scroll', place, { passive: true })
    }
    place()
  }

  /** A select on the customer's page: the agent picks from its options here. */
  #choose (id: number, mirrored: HTMLSelectElement, e: MouseEvent): void {
    document.getElementById('choose')?.remove()
    const pick = document.createElement('select')
    pick.id = 'choose'
    pick.size = Math.min(8, Math.max(2, mirrored.options.length))
    for (const o of mirrored.options) {
      const option = document.createElement('option')
      option.value = o.value
      option.textContent = o.textContent
      option.selected = o.selected
      pick.append(option)
    }
    pick.style.left = `${e.clientX}px`
    pick.style.top = `${e.clientY}px`
    pick.addEventListener('change', () => {
      this.#side.send('control', { action: 'select', id, value: pick.value })
      pick.remove()
    })
    pick.addEventListener('blur', () => pick.remove())
    document.body.append(pick)
    pick.focus()
  }
}
