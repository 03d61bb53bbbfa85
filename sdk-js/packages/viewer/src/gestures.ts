// Accessibility for the customer (Glance's `enableAccessibility`): while it is on, the element
// the agent points at or draws on is named to the customer's screen reader. The viewer tells the
// customer's page which element, by the recorder's node id (`announce {id, gesture}` on the
// stream); the page reads that element's accessible name and role itself and says them in a live
// region (the web SDK's announce.ts). Nothing of the customer's page is read here.

/** How long the pointer rests on an element before it is announced, in ms. */
export const REST_MS = 400

export type Gesture = 'point' | 'draw'

export class Gestures {
  #enabled = false
  /** The element announced last, so that resting on it again says nothing new. */
  #last: number | null = null
  #resting: { id: number, timer: ReturnType<typeof setTimeout> } | null = null
  readonly #send: (event: string, data: unknown) => void

  constructor (send: (event: string, data: unknown) => void) {
    this.#send = send
  }

  get enabled (): boolean { return this.#enabled }

  set (on: boolean): void {
    this.#enabled = on
    this.#last = null
    this.#cancel()
  }

  /**
   * The agent's gesture over the customer's element `id`: a pointer that rests on it is
   * announced after `REST_MS`; a click or the start of a drawing at once.
   */
  on (kind: 'move' | 'click' | 'draw', id: number): void {
    if (!this.#enabled) return
    if (kind !== 'move') {
      this.#cancel()
      this.#announce(id, kind === 'draw' ? 'draw' : 'point')
      return
    }
    if (this.#resting?.id === id) return
    this.#cancel()
    if (id === this.#last) return
    this.#resting = { id, timer: setTimeout(() => { this.#resting = null; this.#announce(id, 'point') }, REST_MS) }
  }

  #announce (id: number, gesture: Gesture): void {
    this.#last = id
    this.#send('announce', { id, gesture })
  }

  #cancel (): void {
    if (this.#resting) clearTimeout(this.#resting.timer)
    this.#resting = null
  }
}
