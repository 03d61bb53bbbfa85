// A small typed event emitter that needs no Node built-ins, so the SDK runs unchanged in browsers.

/** Event name → the arguments its listeners receive. */
export type EventMap = Record<string, unknown[]>

export type Listener<Args extends unknown[]> = (...args: Args) => void

export class Emitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Array<Listener<any>>>()

  /** Calls `listener` every time `event` is emitted. */
  on<E extends keyof Events> (event: E, listener: Listener<Events[E]>): this {
    const list = this.#listeners.get(event) ?? []
    list.push(listener)
    this.#listeners.set(event, list)
    return this
  }

  addListener<E extends keyof Events> (event: E, listener: Listener<Events[E]>): this {
    return this.on(event, listener)
  }

  /** Calls `listener` the next time `event` is emitted, then forgets it. */
  once<E extends keyof Events> (event: E, listener: Listener<Events[E]>): this {
    const wrapper: Listener<Events[E]> & { original?: Listener<Events[E]> } = (...args) => {
      this.off(event, wrapper)
      listener(...args)
    }
    wrapper.original = listener
    return this.on(event, wrapper)
  }

  /** Removes one registration of `listener` (added with `on` or `once`). */
  off<E extends keyof Events> (event: E, listener: Listener<Events[E]>): this {
    const list = this.#listeners.get(event)
    if (!list) return this
    const at = list.findIndex((l) => l === listener || (l as { original?: unknown }).original === listener)
    if (at >= 0) list.splice(at, 1)
    if (list.length === 0) this.#listeners.delete(event)
    return this
  }

  removeListener<E extends keyof Events> (event: E, listener: Listener<Events[E]>): this {
    return this.off(event, listener)
  }

  removeAllListeners (event?: keyof Events): this {
    if (event === undefined) this.#listeners.clear()
    else this.#listeners.delete(event)
    return this
  }

  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  /**
   * Calls the listeners of `event` in the order they were added; returns whether there were any.
   * A listener that throws does not stop the others: its error is rethrown on its own task, where
   * the host's unhandled-error reporting sees it.
   */
  emit<E extends keyof Events> (event: E, ...args: Events[E]): boolean {
    const list = this.#listeners.get(event)
    if (!list || list.length === 0) return false
    for (const listener of [...list]) {
      try {
        listener(...args)
      } catch (error) {
        queueMicrotask(() => { throw error })
      }
    }
    return true
  }
}
