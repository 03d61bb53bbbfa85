// The viewer's first calls, started by viewer-boot.js (prefetch.ts): taken by the same call only.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { prefetched, start } from '../src/prefetch.js'

describe('calls started before viewer.js runs', () => {
  afterEach(() => { vi.restoreAllMocks(); vi.unstubAllGlobals() })

  test('the same call takes the started one; ending the session, a PUT to the same URL, does not', async () => {
    const fetched: string[] = []
    vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
      fetched.push(`${init?.method ?? 'GET'} ${url} ${String(init?.body ?? '')}`)
      return new Response(String(init?.body ?? ''))
    }))
    const url = 'https://tandem.example/api/1/sessions/s1'
    const joined = start('PUT', url, { body: JSON.stringify({ agent: 'me' }) })
    const ended = await prefetched(url, { method: 'PUT', body: JSON.stringify({ state: 'ended' }) })
    expect(await ended.text()).toBe('{"state":"ended"}')
    expect(await prefetched(url, { method: 'PUT', body: JSON.stringify({ agent: 'me' }) })).toBe(await joined)
    // Taken once: the next join goes out.
    await prefetched(url, { method: 'PUT', body: JSON.stringify({ agent: 'me' }) })
    expect(fetched).toHaveLength(3)
  })

  test('a call started long ago is not taken: its answer may be stale', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('fresh')))
    const url = 'https://tandem.example/api/1/sessions/s2/tokens'
    let now = 1000
    vi.spyOn(performance, 'now').mockImplementation(() => now)
    const old = start('GET', url, {})
    now += 11_000
    const got = await prefetched(url, {})
    expect(got).not.toBe(await old)
  })
})
