// Genesys Co-browse's signals: objects with add, addOnce and remove that act like deferreds. A
// callback added after the event has happened is called at once with what the event carried.

export type Callback = (...args: any[]) => unknown

/** How much of the past a late callback hears: the last dispatch, every one, or nothing. */
export type Memory = 'last' | 'all'

export class Signal {
  #callbacks: Array<{ fn: Callback, once: boolean }> = []
  #past: unknown[][] = []

  constructor (private readonly memory: Memory = 'last') {}

  /** Adds a callback; if the event has happened, it is called at once. */
  add (fn: Callback): void {
    this.#check(fn)
    for (const args of this.#past) call(fn, args)
    if (!this.#callbacks.some((c) => c.fn === fn)) this.#callbacks.push({ fn, once: false })
  }

  /** Adds a callback that runs once: now, if the event has happened, or the next time it does. */
  addOnce (fn: Callback): void {
    this.#check(fn)
    const last = this.#past[this.#past.length - 1]
    if (last) return call(fn, last)
    if (!this.#callbacks.some((c) => c.fn === fn)) this.#callbacks.push({ fn, once: true })
  }

  remove (fn: Callback): void {
    this.#callbacks = this.#callbacks.filter((c) => c.fn !== fn)
  }

  /** The event happened: every callback hears it, in the order they were added. */
  dispatch (...args: unknown[]): void {
    if (this.memory === 'last') this.#past = [args]
    else this.#past.push(args)
    const now = this.#callbacks
    this.#callbacks = now.filter((c) => !c.once)
    for (const c of now) call(c.fn, args)
  }

  /** Keeps only the past dispatches that `keep` accepts. */
  prune (keep: (args: unknown[]) => boolean): void {
    this.#past = this.#past.filter(keep)
  }

  /** Forgets the past (a new session begins): late callbacks wait for the next event. */
  forget (): void {
    this.#past = []
  }

  #check (fn: Callback): void {
    if (typeof fn !== 'function') throw new TypeError('a signal takes a function')
  }
}

/** Runs a page's callback; what it throws is reported and stops nothing else. */
function call (fn: Callback, args: unknown[]): void {
  try {
    fn(...args)
  } catch (e) {
    console.error('Tandem: a Co-browse callback threw', e)
  }
}
