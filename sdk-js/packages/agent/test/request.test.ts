import { describe, expect, test, vi } from 'vitest'
import TandemAPI, { APIError, CobrowseAPI, TandemAPI as Named, TokenExpiredError, VERSION } from '../src/index.js'
import { fakeFetch, sessionJson } from './doubles.js'
import pkg from '../package.json'

const API = 'https://tandem.test/base/'

describe('the entry point', () => {
  test('the default export, TandemAPI and CobrowseAPI are one class', () => {
    expect(Named).toBe(TandemAPI)
    expect(CobrowseAPI).toBe(TandemAPI)
  })

  test('api drops trailing slashes and keeps a base path; token and license are settable', () => {
    const api = new TandemAPI('jwt-1', { api: API })
    expect(api.api).toBe('https://tandem.test/base')
    expect(api.token).toBe('jwt-1')
    api.token = 'jwt-2'
    expect(api.token).toBe('jwt-2')
    expect(api.license).toBeUndefined()
    api.license = 'lic'
    expect(api.license).toBe('lic')
  })

  test('VERSION is the package version', () => {
    expect(VERSION).toBe(pkg.version)
  })
})

describe('query strings', () => {
  test('sessions.list sends its query on GET /api/1/sessions, under the base path', async () => {
    const net = fakeFetch({ 'GET /base/api/1/sessions': { json: [] } })
    const api = new TandemAPI('jwt', { api: API, fetch: net.fetch })
    await api.sessions.list({
      filter_user_id: 'u-1',
      filter_plan: 'gold',
      state: ['pending', 'active'],
      agent: 'all',
      limit: 5,
      activated_after: new Date('2026-01-01T00:00:00.000Z'),
      activated_before: '2026-01-31T00:00:00.000Z'
    })
    expect(net.calls).toHaveLength(1)
    const { url, method } = net.calls[0]
    expect(method).toBe('GET')
    expect(url.origin + url.pathname).toBe('https://tandem.test/base/api/1/sessions')
    expect([...url.searchParams]).toEqual([
      ['filter_user_id', 'u-1'],
      ['filter_plan', 'gold'],
      ['state[]', 'pending'],
      ['state[]', 'active'],
      ['agent', 'all'],
      ['limit', '5'],
      ['activated_after', '2026-01-01T00:00:00.000Z'],
      ['activated_before', '2026-01-31T00:00:00.000Z']
    ])
  })

  test('a single state stays a plain parameter', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions': { json: [] } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    await api.sessions.list({ state: 'ended' })
    expect(net.calls[0].url.search).toBe('?state=ended')
  })

  test('ids and codes are escaped as path segments', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions/a%2Fb%3Fc': { json: sessionJson({ id: 'a/b?c' }) } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    const s = await api.sessions.get('a/b?c')
    expect(s.id).toBe('a/b?c')
  })
})

describe('headers', () => {
  test('every call carries JSON, the bearer JWT and the SDK headers; the license when set', async () => {
    const net = fakeFetch({ 'GET /api/1/users/me': { json: { id: 'user-1' } } })
    const api = new TandemAPI('jwt-1', { api: 'http://t', fetch: net.fetch })
    await api.users.current()
    api.license = 'lic-1'
    api.token = 'jwt-2'
    await api.users.current()
    expect(net.calls[0].headers).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer jwt-1',
      'x-cobrowseplatform': 'agent-sdk',
      'x-cobrowsesdkversion': VERSION,
      'x-cobrowseapiversion': '1.2.0'
    })
    expect(net.calls[1].headers.authorization).toBe('Bearer jwt-2')
    expect(net.calls[1].headers['x-cobrowselicense']).toBe('lic-1')
  })

  test('without a token there is no Authorization header', async () => {
    const net = fakeFetch({ 'GET /api/1/regions/closest': { json: { id: 'eu' } } })
    await new TandemAPI(undefined, { api: 'http://t', fetch: net.fetch }).regions.closest()
    expect(net.calls[0].headers.authorization).toBeUndefined()
  })
})

describe('errors', () => {
  test('a status with {id, message} becomes an APIError carrying both and the status', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions/nope': { status: 404, json: { id: 'not_found', message: 'session not found' } } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    const error = await api.sessions.get('nope').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).not.toBeInstanceOf(TokenExpiredError)
    expect(error).toMatchObject({ name: 'APIError', status: 404, id: 'not_found', message: 'session not found' })
  })

  test('a body that is not JSON still gives status and a message', async () => {
    const net = fakeFetch({ 'GET /api/1/users/me': { status: 502, text: 'Bad Gateway from proxy' } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch, retries: 0 })
    await expect(api.users.current()).rejects.toMatchObject({ status: 502, id: 'http_502', message: 'Bad Gateway from proxy' })
  })

  test('401 token_expired is a TokenExpiredError, also emitted as the instance\'s error event', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions': { status: 401, json: { id: 'token_expired', message: 'jwt expired' } } })
    const api = new TandemAPI('old', { api: 'http://t', fetch: net.fetch })
    const seen: APIError[] = []
    api.on('error', (e) => seen.push(e))
    const error = await api.sessions.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenExpiredError)
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({ name: 'TokenExpiredError', status: 401, id: 'token_expired', message: 'jwt expired' })
    expect(seen).toEqual([error])
  })

  test('other 401s are plain APIErrors and are not emitted', async () => {
    const net = fakeFetch({ 'GET /api/1/sessions': { status: 401, json: { id: 'invalid_token', message: 'the token signature does not verify' } } })
    const api = new TandemAPI('bad', { api: 'http://t', fetch: net.fetch })
    const seen: unknown[] = []
    api.on('error', (e) => seen.push(e))
    const error = await api.sessions.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).not.toBeInstanceOf(TokenExpiredError)
    expect(seen).toEqual([])
  })

  test('a list that is not an array is refused', async () => {
    const net = fakeFetch({ 'GET /api/1/devices': { json: { devices: [] } } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    await expect(api.devices.list()).rejects.toMatchObject({ id: 'invalid_response' })
  })

  test('a network failure is an APIError without status', async () => {
    const failing = (async () => { throw new TypeError('fetch failed') }) as unknown as typeof fetch
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: failing, retries: 0 })
    const error = await api.users.current().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({ id: 'network_error', status: null })
    expect((error as Error).cause).toBeInstanceOf(TypeError)
  })

  test('an aborted call rejects with the signal\'s reason', async () => {
    const net = fakeFetch({ 'GET /api/1/users/me': { json: { id: 'user-1' } } })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    const controller = new AbortController()
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(api.users.current(undefined, { signal: controller.signal })).rejects.toBe(reason)
  })

  test('a call that outlives the timeout fails as timeout', async () => {
    const hanging = ((_: unknown, init: RequestInit) => new Promise((_resolve, reject) => {
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
    })) as unknown as typeof fetch
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: hanging, timeout: 20, retries: 0 })
    await expect(api.users.current()).rejects.toMatchObject({ id: 'timeout', status: null })
  })

  test('without an API base, calls fail before any request', async () => {
    const net = fakeFetch()
    const api = new TandemAPI('jwt', { fetch: net.fetch })
    await expect(api.users.current()).rejects.toThrow(/no API base URL/)
    expect(net.calls).toHaveLength(0)
  })
})

describe('retries', () => {
  test('GET is retried after a 5xx, then succeeds', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    let n = 0
    const net = fakeFetch({
      'GET /api/1/users/me': () => (n++ === 0 ? { status: 503, json: { id: 'unavailable', message: 'try later' } } : { json: { id: 'user-1' } })
    })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    const me = await api.users.current()
    expect(me.id).toBe('user-1')
    expect(net.calls).toHaveLength(2)
    vi.restoreAllMocks()
  })

  test('POST is never retried, and 4xx are not retried', async () => {
    const net = fakeFetch({
      'POST /api/1/sessions': { status: 500, json: { id: 'internal', message: 'internal error' } },
      'GET /api/1/sessions/x': { status: 404, json: { id: 'not_found', message: 'session not found' } }
    })
    const api = new TandemAPI('jwt', { api: 'http://t', fetch: net.fetch })
    await expect(api.sessions.create({})).rejects.toMatchObject({ status: 500, id: 'internal' })
    await expect(api.sessions.get('x')).rejects.toMatchObject({ status: 404 })
    expect(net.calls.map((c) => c.method)).toEqual(['POST', 'GET'])
  })
})
