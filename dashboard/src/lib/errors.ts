// Errors in words: what the agent sees when a call fails, from the server's `{id, message}`.
import { APIError } from '@tandem/agent'

const WORDS: Record<string, string> = {
  network_error: 'Tandem could not be reached. Check your connection and try again.',
  timeout: 'Tandem took too long to answer. Try again.',
  not_signed_in: 'You are signed out. Sign in again to continue.',
  invalid_link: 'This sign-in link is not valid: it is wrong, has expired (links last 15 minutes) or has been used already. Ask for a new one.',
  rate_limited: 'Too many sign-in emails were asked for. Wait a few minutes and try again.',
  forbidden: 'Your role does not allow this. Ask an administrator of the account.',
  no_account: 'No account is selected. Pick one to continue.',
  account_disabled: 'This account has been disabled. Contact the people who run your Tandem server.',
  csrf_refused: 'The request was refused as it did not come from this page. Reload the page and try again.',
  last_administrator: 'An account needs at least one administrator: make someone else an administrator first.',
  not_found: 'It was not found: it may have been removed, or the code has expired.',
  conflict: 'Someone changed it at the same time. Reload and try again.',
  sso_not_found: 'No single sign-on is set up for that address or account.',
  domain_taken: 'Not saved: another account already signs in with one of these email domains. Remove it here, or from the other account first.'
}

/** A sentence for a failed call; the server's message when it is more precise than ours. */
export function describeError (error: unknown): string {
  if (error instanceof APIError) {
    if (error.id === 'invalid_settings' || error.id === 'invalid_sso' || error.id === 'invalid_request' || error.id === 'validation_failed') {
      return `Not saved: ${error.message}`
    }
    const words = WORDS[error.id]
    if (words) return words
    if (error.status !== null && error.status >= 500) return 'Tandem had a problem answering. Try again in a moment.'
    return error.message || `The request failed (${error.id}).`
  }
  return error instanceof Error ? error.message : String(error)
}

/** Whether the failure means the browser is no longer signed in (or may no longer be here). */
export function isSignedOut (error: unknown): boolean {
  return error instanceof APIError && (error.id === 'not_signed_in' || (error.status === 401 && error.id !== 'invalid_link'))
}
