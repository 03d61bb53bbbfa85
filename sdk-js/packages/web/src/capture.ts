// When the customer's page records: only while an agent watches it, or when a snapshot is asked
// for (issue 18). The page pays nothing for the recording (no snapshot, no observers, no
// pointer sampling, no checkouts) while nobody is there to see it.
//
// The server tells the session's stream how many agent streams the session has: `agents
// {count}` when the stream opens and whenever the count changes, on every replica (see
// realtime/src/hub/agents.rs; clients cannot send that event). The recorder may start ahead of
// it, as the stream opens (`begin`), so that the first snapshot is ready the moment the count
// says an agent waits (the customer's Allow while the agent's viewer waits): what it records is
// held until then, and dropped unsent if the count says nobody watches. From the count:
// - count > 0 and not recording: the recorder starts, with a fresh full snapshot (in slices);
// - count back to 0: recording stops `STOP_GRACE_MS` later (an agent's reload comes back within
//   it and costs no new snapshot) unless an agent came back, and the recorder lets go of the
//   page (its observers, its map of nodes); the server drops its replay of the page;
// - a `sync` (an agent asking for the whole page) takes a snapshot, starting the recorder if
//   need be; but the `sync` of an agent whose coming started the recorder is answered by that
//   recorder's first snapshot, not a second one.
// A server that never says `agents` (an older one) gets what it always did: the recorder starts
// `AGENTS_WAIT_MS` after the stream opens and never stops.

/** How long recording goes on after the last agent left. */
export const STOP_GRACE_MS = 5_000

/** How long after its stream opens the page waits to hear `agents` before it records anyway. */
export const AGENTS_WAIT_MS = 1_500

/**
 * How long after an agent's coming started the recorder that agent's `sync` is taken as
 * answered (its viewer asks the moment its stream opens, before it could have heard anything).
 */
const COVER_MS = 2_000

/** What the capture drives: the page's recorder, owned by index.ts. */
export interface Recording {
  /** Whether the recorder runs. */
  running: () => boolean
  /**
   * Starts the recorder: it sends a full snapshot, then the page's changes; `held`: it keeps
   * them until `release`.
   */
  start: (held: boolean) => void
  /** Sends what the recorder held, and what it records from now on as it comes. */
  release: () => void
  /** A fresh full snapshot from the running recorder. */
  snapshot: () => void
  /** Stops the recorder and frees what it holds (what it held unsent is dropped). */
  stop: () => void
}

export class Capture {
  readonly #recording: Recording
  /** The count the server said last (none yet: it has not said one on this stream). */
  #agents: number | null = null
  /** Whether the stream that opened last was a reconnection. */
  #reconnected = false
  /** When each `sync` to come stops being one a recorder start has answered. */
  #covered: number[] = []
  /** Whether the recorder runs ahead of the count, what it records held. */
  #held = false
  #stopTimer: ReturnType<typeof setTimeout> | undefined
  #waitTimer: ReturnType<typeof setTimeout> | undefined

  constructor (recording: Recording) {
    this.#recording = recording
  }

  /** Whether the page is being recorded. */
  get recording (): boolean {
    return this.#recording.running()
  }

  /**
   * The session's stream is about to open: with `likely` (no count said so far on this
   * session says nobody watches), the recorder starts now, what it records held for the count.
   */
  begin (likely: boolean): void {
    if (!likely || this.#recording.running()) return
    this.#recording.start(true)
    this.#held = true
  }

  /** The session's stream opened (again, when `reconnected`). */
  opened (reconnected: boolean): void {
    this.#agents = null
    this.#reconnected = reconnected
    this.#covered = []
    clearTimeout(this.#waitTimer)
    // A server that announces agents says how many at once; one that does not gets the
    // recording it always had.
    this.#waitTimer = setTimeout(() => {
      if (this.#agents !== null) return
      if (this.#held) this.#release()
      else if (!this.#recording.running()) this.#recording.start(false)
      else if (reconnected) this.#recording.snapshot()
    }, AGENTS_WAIT_MS)
  }

  /** The server's `agents {count}`. */
  agents (count: unknown): void {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return
    clearTimeout(this.#waitTimer)
    const first = this.#agents === null
    const before = this.#agents ?? 0
    this.#agents = count
    if (this.#held) {
      // The recorder started ahead of the count: what it holds goes now, or goes unsent.
      if (count > 0) {
        this.#release()
      } else {
        this.#held = false
        this.#recording.stop()
      }
      return
    }
    if (count === 0) {
      this.#stopSoon()
      return
    }
    clearTimeout(this.#stopTimer)
    this.#stopTimer = undefined
    if (!this.#recording.running()) {
      this.#recording.start(false)
      // The agents just come will each ask for the page (`sync`): this start answers them.
      // Those already there when the stream opened ask for nothing.
      if (!first) this.#cover(count - before)
    } else if (first && this.#reconnected) {
      // The stream was down: the agents missed what was sent meanwhile, and the server's
      // replay of the page starts afresh.
      this.#recording.snapshot()
    }
  }

  /** An agent (or the server, for its replay) asks for the whole page. */
  sync (): void {
    const now = Date.now()
    this.#covered = this.#covered.filter((until) => until > now)
    if (this.#held) {
      // What the recorder holds starts with a snapshot.
      this.#release()
      return
    }
    if (!this.#recording.running()) {
      // Whoever asked is watching, counted or not yet: recording goes on until the count
      // next falls to 0.
      this.#recording.start(false)
      return
    }
    if (this.#covered.length > 0) {
      this.#covered.shift()
      return
    }
    this.#recording.snapshot()
  }

  /** The session's stream is gone for good: nothing more is scheduled. */
  close (): void {
    clearTimeout(this.#waitTimer)
    clearTimeout(this.#stopTimer)
    this.#stopTimer = undefined
  }

  #release (): void {
    this.#held = false
    this.#recording.release()
  }

  #cover (agents: number): void {
    const until = Date.now() + COVER_MS
    for (let i = 0; i < agents; i++) this.#covered.push(until)
  }

  #stopSoon (): void {
    if (this.#stopTimer !== undefined || !this.#recording.running()) return
    this.#stopTimer = setTimeout(() => {
      this.#stopTimer = undefined
      if (this.#agents === 0 && this.#recording.running()) this.#recording.stop()
    }, STOP_GRACE_MS)
  }
}
