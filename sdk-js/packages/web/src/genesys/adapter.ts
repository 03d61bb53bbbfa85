// External media adapters: the chat (or other channel) that carries a session's 9-digit token to
// the agent. Two shapes are understood: Genesys Co-browse's External Media Adapter
// (`initializeAsync(done)`, `isAgentConnected()`, `sendCbSessionToken(token)`, every method
// optional) and Tandem's own `MediaAdapter` (`initializeAsync()` returning a promise,
// `sendSessionToken(message)` given the whole `{start:<token>}` message).

/** Genesys Co-browse's External Media Adapter: every method is optional. */
export interface ExternalMediaAdapter {
  /**
   * Gets the media ready, then calls `done` (every page load, before the Co-browse button
   * shows). A function of no parameters may return a promise instead.
   */
  initializeAsync?: (done: () => void) => void | Promise<void>
  /** Whether an agent is on the other end; checked before the token is sent. */
  isAgentConnected?: () => boolean
  /** Sends the 9-digit token (the adapter may wrap it, e.g. as `{start:<token>}`). */
  sendCbSessionToken?: (token: string) => void | Promise<void>
  /** Tandem's name: sends the message `{start:<token>}`. */
  sendSessionToken?: (message: string) => void | Promise<void>
}

/** The message that cues an agent's application to join: `{start:123456789}`. */
export function startMessage (token: string): string {
  return `{start:${token}}`
}

/**
 * Runs the adapter's `initializeAsync` and resolves once the media is ready: when it calls
 * `done` (Genesys) or when the promise it returns settles (Tandem's adapters, which take no
 * parameter). An adapter that throws or rejects is reported and counted as ready, so the page
 * still gets its button.
 */
export async function initializeMedia (media: ExternalMediaAdapter | undefined): Promise<void> {
  const init = media?.initializeAsync
  if (typeof init !== 'function') return
  try {
    if (init.length === 0) {
      await (init as () => unknown).call(media)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const returned = init.call(media, () => resolve())
      if (returned && typeof (returned as Promise<void>).catch === 'function') (returned as Promise<void>).catch(reject)
    })
  } catch (e) {
    console.error('Tandem: the primary media adapter failed to initialize', e)
  }
}

/** `isAgentConnected()`'s answer, or `null` when the adapter cannot tell (or there is none). */
export function agentConnected (media: ExternalMediaAdapter | undefined): boolean | null {
  if (!media || typeof media.isAgentConnected !== 'function') return null
  try {
    return Boolean(media.isAgentConnected())
  } catch (e) {
    console.error('Tandem: isAgentConnected() failed', e)
    return false
  }
}

/**
 * Hands the token to the adapter: `sendCbSessionToken(token)` when it has it, else Tandem's
 * `sendSessionToken('{start:<token>}')`. Resolves with whether the adapter took it.
 */
export async function sendToken (media: ExternalMediaAdapter | undefined, token: string): Promise<boolean> {
  try {
    if (typeof media?.sendCbSessionToken === 'function') {
      await media.sendCbSessionToken(token)
      return true
    }
    if (typeof media?.sendSessionToken === 'function') {
      await media.sendSessionToken(startMessage(token))
      return true
    }
  } catch (e) {
    console.error('Tandem: the primary media adapter could not send the session token', e)
  }
  return false
}
