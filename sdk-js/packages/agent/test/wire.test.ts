// Frames that break the wire rules are dropped and reported as `error` (id `frame_refused`),
// never delivered: tests/security/frames.json, and a duplicate-key frame that plain cbor-x
// would read as a session update.
import { encodeData } from '@tandem/wire'
import { decode } from 'cbor-x'
import { expect, test } from 'vitest'
import frames from '../../../../tests/security/frames.json'
import TandemAPI, { type APIError } from '../src/index.js'
import { fakeFetch, fakeWebSocket, type FakeSocket, ME, sessionJson, settle } from './doubles.js'

interface Case { name: string, hex: string, verdict: 'accept' | 'refuse' }
const cases = frames as Case[]
const bytes = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16))

async function following (): Promise<{ tandem: TandemAPI, ws: FakeSocket, errors: APIError[], updates: unknown[] }> {
  const net = fakeFetch({ 'GET /api/1/users/me': { json: ME }, 'GET /api/1/sessions/sess-1': { json: sessionJson() } })
  const sockets = fakeWebSocket()
  const tandem = new TandemAPI('jwt', { api: 'http://tandem.test', fetch: net.fetch, WebSocket: sockets.WebSocket })
  const errors: APIError[] = []
  tandem.on('error', (e) => errors.push(e))
  const session = await tandem.sessions.get('sess-1')
  const updates: unknown[] = []
  session.on('updated', (s) => updates.push(s.state))
  const done = session.subscribe()
  await settle()
  const ws = sockets.sockets[0]
  ws.accept()
  ws.ackAll()
  await done
  return { tandem, ws, errors, updates }
}

test('every refused frame of the shared set is dropped and reported; the socket goes on', async () => {
  const { ws, errors, updates } = await following()
  const refused = cases.filter((c) => c.verdict === 'refuse')
  for (const c of refused) ws.pushBytes(bytes(c.hex))
  expect(errors.map((e) => e.id)).toEqual(refused.map(() => 'frame_refused'))
  expect(errors[0].message).toMatch(/wire rules/)
  expect(updates).toEqual([])
  expect(ws.closedWith).toBeUndefined()
  ws.push({ event: 'session', data: sessionJson({ state: 'active' }) })
  expect(updates).toEqual(['active'])
})

test('accepted frames of the shared set raise no error', async () => {
  const { ws, errors } = await following()
  for (const c of cases.filter((c) => c.verdict === 'accept')) ws.pushBytes(bytes(c.hex))
  expect(errors).toEqual([])
})

test('a frame whose second `event` key says session does not update the session', async () => {
  const { ws, errors, updates } = await following()
  const text = (s: string): number[] => [0x60 + s.length, ...new TextEncoder().encode(s)]
  const data = encodeData(sessionJson({ state: 'ended', ended_reason: 'agent_ended' }))
  const frame = new Uint8Array([0xa3, ...text('event'), ...text('device'), ...text('event'), ...text('session'), ...text('data'), ...data])
  // What the SDK read before: a session update.
  expect(decode(frame).event).toBe('session')
  ws.pushBytes(frame)
  expect(updates).toEqual([])
  expect(errors.map((e) => e.id)).toEqual(['frame_refused'])
})
