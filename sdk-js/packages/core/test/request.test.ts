// The request core on its own; the agent SDK's tests (packages/agent/test/request.test.ts) drive
// it through TandemAPI as integrators do.
import { describe, expect, test } from 'vitest'
import { APIError, Client, TokenExpiredError, buildQuery } from '../src/index.js'

interface Seen { url: string, method: string, headers: Record<string, string>, body: unknown }

/** A fetch that answers with `replies` in turn (the last one again once they run out). */
function fetchDouble (...replies: Array<{ status?: number, body?: string } | Error>): { fetch: typeof fetch, seen: Seen[] } {
  const seen: Seen[] = []
  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    seen.push({
      url: String(input),
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    })
    const reply = replies[Math.min(seen.length, replies.length) - 1]
    if (reply instanceof Error) throw reply
    return new Response(reply.body ?? null, { status: reply.status ?? 200 })
  }
  return { fetch: fetchImpl as typeof fetch, seen }
}

function client (fetchImpl: typeof fetch, extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  return new Client({ api: 'https://tandem.test/base/', fetch: fetchImpl, headers: () => ({ 'X-Test': '1' }), ...extra })
}

describe('query strings', () => {
  test('filter_* keys, bracketed arrays, ISO dates; undefined and null left out', () => {
    const q = buildQuery({
      filter_user_id: 'u 1&2',
      state: ['active', 'ended'],
      limit: 10,
      activated_before: new Date('2026-02-03T04:05:06.789Z'),
      agent: undefined,
      nothing: null
    })
    expect(q).toBe(
      'filter_user_id=u%201%262&state[]=active&state[]=ended&limit=10&activated_before=2026-02-03T04%3A05%3A06.789Z'
    )
  })
})

describe('calls', () => {
  test('JSON under <api>/api/1 with the caller\'s headers; the body parsed', async () => {
    const net = fetchDouble({ body: '{"id":"s-1"}' })
    const body = await client(net.fetch).request('PUT', '/sessions/s-1', { body: { state: 'ended' }, query: { a: 1 } })
    expect(body).toEqual({ id: 's-1' })
    expect(net.seen).toEqual([{
      url: 'https://tandem.test/base/api/1/sessions/s-1?a=1',
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-Test': '1' },
      body: { state: 'ended' }
    }])
  })

  test('{id, message} failures become APIErrors with the status; an expired JWT is told', async () => {
    const expired: TokenExpiredError[] = []
    const net = fetchDouble(
      { status: 404, body: '{"id":"not_found","message":"no such session"}' },
      { status: 401, body: '{"id":"token_expired","message":"jwt expired"}' }
    )
    const c = client(net.fetch, { onExpired: (e) => expired.push(e) })
    await expect(c.request('GET', '/sessions/x')).rejects.toMatchObject({ name: 'APIError', id: 'not_found', status: 404, message: 'no such session' })
    await expect(c.request('GET', '/users/me')).rejects.toBeInstanceOf(TokenExpiredError)
    expect(expired).toHaveLength(1)
  })

  test('idempotent calls are retried after network errors and 5xx; POST is not', async () => {
    const put = fetchDouble(new TypeError('fetch failed'), { status: 503, body: '{"id":"unavailable","message":"later"}' }, { body: '{}' })
    await expect(client(put.fetch).request('PUT', '/devices/d')).resolves.toEqual({})
    expect(put.seen).toHaveLength(3)
    const post = fetchDouble({ status: 503 })
    await expect(client(post.fetch).request('POST', '/sessions')).rejects.toMatchObject({ id: 'http_503', status: 503 })
    expect(post.seen).toHaveLength(1)
    const none = fetchDouble(new TypeError('fetch failed'))
    await expect(client(none.fetch, { retries: 0 }).request('GET', '/accounts'))
      .rejects.toMatchObject({ id: 'network_error', status: null })
    expect(none.seen).toHaveLength(1)
  })
})

describe('the error class', () => {
  test('APIError(message, {id, status}), and the older positional form of @tandem/web', () => {
    const error = new APIError('missing', { id: 'not_found', status: 404 })
    expect(error).toMatchObject({ name: 'APIError', message: 'missing', id: 'not_found', status: 404 })
    const positional = new APIError(404, 'not_found', 'missing')
    expect(positional).toMatchObject({ name: 'APIError', message: 'missing', id: 'not_found', status: 404 })
    expect(new APIError()).toMatchObject({ id: 'error', status: null })
    expect(new TokenExpiredError()).toMatchObject({ id: 'token_expired', status: 401, message: 'jwt expired' })
  })
})
