// @tandem/agent against a running Tandem server, in Node: list and filter, read by code, subscribe
// and receive updates. It imports the built package (run `npm run build:agent` in sdk-js first).
//
//   TANDEM_API=http://127.0.0.1:18090 TANDEM_TOKEN=<administrator JWT> TANDEM_LICENSE=<license key> \
//     node --experimental-websocket --test sdk-js/packages/agent/test-node/
//
// Node 22 and later have WebSocket without the flag.

import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { decode } from 'cbor-x'
import TandemAPI, { APIError, Device, Session } from '@tandem/agent'

const REQUIRED = ['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE']
const missing = REQUIRED.filter((name) => !process.env[name])

if (missing.length > 0) {
  // A missing server is a failure, never a skip: a suite that skips proves nothing.
  test('environment is configured', () => {
    assert.fail(`missing environment variables: ${missing.join(', ')}`)
  })
} else {
  suite(process.env)
}

function suite (env) {
  const base = env.TANDEM_API
  // One instance watches, another makes the changes, as a CRM and a console would.
  const watcher = new TandemAPI(env.TANDEM_TOKEN, { api: base })
  const editor = new TandemAPI(env.TANDEM_TOKEN, { api: base })
  const run = randomUUID()
  const userId = `user-${run}`

  after(() => {
    watcher.disconnect()
    editor.disconnect()
  })

  test('devices registered with custom data are listed by filter_user_id', async () => {
    const id = `device-${run}`
    await registerDevice(base, env.TANDEM_LICENSE, id, { user_id: userId, plan: 'gold' })
    await registerDevice(base, env.TANDEM_LICENSE, `other-${run}`, { user_id: `other-${run}` })

    const devices = await editor.devices.list({ filter_user_id: userId })
    assert.deepEqual(devices.map((d) => d.id), [id])
    const [device] = devices
    assert.ok(device instanceof Device)
    assert.deepEqual(device.custom_data, { user_id: userId, plan: 'gold' })
    assert.equal(device.device.platform, 'web')
    assert.ok(device.last_active instanceof Date && !Number.isNaN(device.last_active.getTime()))
    assert.equal(device.online, false)
    assert.equal(device.connectable, false, 'a socket device without its socket cannot be asked to join')

    assert.deepEqual((await editor.devices.list({ filter_user_id: userId, filter_plan: 'silver' })).map((d) => d.id), [])
    assert.equal((await editor.devices.get(id)).id, id)
  })

  test('sessions are created, listed by filter and state, and read by code', async () => {
    const a = await editor.sessions.create({ custom_data: { user_id: userId, step: 'list' }, agent: 'me' })
    const b = await editor.sessions.create({ custom_data: { user_id: `other-${run}`, step: 'list' }, agent: 'me' })
    assert.ok(a instanceof Session)
    assert.equal(a.state, 'pending')
    assert.equal(a.isPending(), true)
    assert.match(a.code, /^\d{6}$/)
    assert.ok(a.created instanceof Date)
    assert.equal(a.activated, null)
    assert.equal(a.agent?.id, (await editor.users.current()).id)

    const ids = async (query) => (await editor.sessions.list(query)).map((s) => s.id).sort()
    assert.deepEqual(await ids({ filter_user_id: userId }), [a.id])
    assert.deepEqual(await ids({ filter_step: 'list', filter_user_id: userId, agent: 'all' }), [a.id])
    assert.deepEqual(await ids({ filter_user_id: userId, state: ['pending', 'active'] }), [a.id])
    assert.deepEqual(await ids({ filter_user_id: userId, state: 'ended' }), [])
    assert.deepEqual(await ids({ filter_user_id: userId, activated_before: new Date(Date.now() + 60_000) }), [a.id])
    assert.deepEqual(await ids({ filter_user_id: userId, activated_after: new Date(Date.now() + 60_000) }), [])

    const byCode = await editor.sessions.get(a.code)
    assert.equal(byCode.id, a.id)
    assert.deepEqual(byCode.custom_data, { user_id: userId, step: 'list' })

    await b.end()
    assert.equal(b.state, 'ended')
    assert.equal(b.ended_reason, 'agent_ended')
    const again = await b.end().catch((e) => e)
    assert.ok(again instanceof APIError, `ending twice fails with an APIError, got ${again}`)
    assert.equal(again.status, 409)
    await a.end()
  })

  test('a subscribed session receives updated when changed over REST, and ended once when ended', async () => {
    const created = await editor.sessions.create({ custom_data: { user_id: userId, step: 'watch' }, agent: 'me' })
    const watched = await watcher.sessions.get(created.id)
    let ended = 0
    watched.on('ended', () => { ended += 1 })
    await watched.subscribe()

    const updated = waitFor(watched, 'updated', (s) => s.custom_data.ticket === 'T-1')
    await created.update({ custom_data: { user_id: userId, step: 'watch', ticket: 'T-1' } })
    await updated
    assert.equal(watched.state, 'pending')

    const end = waitFor(watched, 'ended', () => true)
    await created.end()
    await end
    assert.equal(watched.state, 'ended')
    assert.equal(watched.isEnded(), true)
    assert.equal(watched.ended_reason, 'agent_ended')
    await watched.fetch()
    assert.equal(ended, 1)
    watched.unsubscribe()
  })

  test('a subscribed device follows its presence; notify reaches its socket', async () => {
    const id = `presence-${run}`
    const registered = await registerDevice(base, env.TANDEM_LICENSE, id, { user_id: userId, step: 'presence' })
    const device = await watcher.devices.get(id)
    await device.subscribe()
    const session = await editor.sessions.create({ custom_data: { user_id: userId, step: 'notify' }, agent: 'me' })

    const offline = await device.notify({ session }).catch((e) => e)
    assert.ok(offline instanceof APIError, `notifying an offline device fails, got ${offline}`)
    assert.equal(offline.id, 'device_offline')

    const online = waitFor(device, 'updated', (d) => d.online)
    const socket = await openDeviceSocket(base, env.TANDEM_LICENSE, id, registered.device_token)
    try {
      await online
      assert.equal(device.connectable, true)
      const notification = nextFrame(socket, 'notification')
      await device.notify({ session, attempt: 2 })
      const frame = await notification
      assert.equal(frame.data.session.id, session.id)
      assert.equal(frame.data.attempt, 2)

      const offlineAgain = waitFor(device, 'updated', (d) => !d.online)
      socket.close()
      await offlineAgain
    } finally {
      socket.close()
      device.unsubscribe()
      await session.end()
    }
  })
}

/** Resolves with the resource once `emitter` emits `event` and `check(resource)` holds. */
function waitFor (emitter, event, check, ms = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`no '${event}' matching ${check} within ${ms} ms`))
    }, ms)
    function listener (resource) {
      if (!check(resource)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(resource)
    }
    emitter.on(event, listener)
  })
}

/** The device side, as the web SDK does it: register over REST with the license key. */
async function registerDevice (base, license, id, customData) {
  const res = await fetch(new URL(`/api/1/devices/${encodeURIComponent(id)}`, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CobrowseLicense': license, 'X-CobrowsePlatform': 'web' },
    body: JSON.stringify({ device: { platform: 'web', app_name: 'agent sdk test', sdk_version: 'test' }, custom_data: customData })
  })
  const body = await res.json()
  assert.equal(res.status, 200, JSON.stringify(body))
  assert.equal(typeof body.device_token, 'string')
  return body
}

/** The device's notification socket: what makes it online. */
function openDeviceSocket (base, license, id, token) {
  const url = new URL(`sockets/1/ws?X-CobrowseLicense=${encodeURIComponent(license)}&X-CobrowseDevice=${encodeURIComponent(id)}`,
    base.replace(/^http/, 'ws').replace(/\/?$/, '/'))
  const bearer = Buffer.from(token).toString('base64').replace(/=+$/, '')
  const ws = new WebSocket(url, ['cbor', `cbio.http.headers.authorization.bearer.${bearer}`])
  ws.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws)
    ws.onerror = (e) => reject(new Error(`device socket failed: ${e.message ?? e.type}`))
  })
}

function nextFrame (ws, event, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' frame within ${ms} ms`)), ms)
    ws.addEventListener('message', function listener (e) {
      const frame = decode(new Uint8Array(e.data))
      if (frame?.event !== event) return
      clearTimeout(timer)
      ws.removeEventListener('message', listener)
      resolve(frame)
    })
  })
}
