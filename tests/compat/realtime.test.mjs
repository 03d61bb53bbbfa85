// The realtime socket through the public Cobrowse.io agent SDK (`cobrowse-agent-sdk`, pinned in
// package.json): subscriptions to a session and a device receive `updated` after changes made over
// REST and by the inactivity reaper, and device presence follows the device's own socket.
//
//   TANDEM_API=http://127.0.0.1:12345 TANDEM_TOKEN=… TANDEM_LICENSE=… \
//     node --experimental-websocket --test tests/compat/realtime.test.mjs
//
// The server must run with a short inactivity timeout (the Rust test uses 6 s) so that the
// reaper ends an untouched session while the test waits.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import CobrowseAPI from 'cobrowse-agent-sdk'

const REQUIRED = ['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE']
const missing = REQUIRED.filter((name) => !process.env[name])

if (missing.length > 0) {
  test('environment is configured', () => {
    assert.fail(`missing environment variables: ${missing.join(', ')}`)
  })
} else {
  defineSuite(process.env)
}

/** Resolves with the resource once `emitter` emits `event` and `check(resource)` holds. */
function waitFor (emitter, event, check, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`no '${event}' matching ${check} within ${ms} ms`))
    }, ms)
    function listener (resource) {
      if (check(resource)) {
        clearTimeout(timer)
        emitter.off(event, listener)
        resolve(resource)
      }
    }
    emitter.on(event, listener)
  })
}

function defineSuite (env) {
  const base = env.TANDEM_API
  const watcher = new CobrowseAPI(env.TANDEM_TOKEN, { api: base })
  // A second console of the same account makes the changes over REST.
  const editor = new CobrowseAPI(env.TANDEM_TOKEN, { api: base })
  const run = randomUUID()

  after(() => {
    watcher.disconnect()
    editor.disconnect()
  })

  test('a subscribed session sees REST updates, then its end by the reaper', async () => {
    const session = await watcher.sessions.create({ custom_data: { run } })
    await session.subscribe()

    const updated = waitFor(session, 'updated', (s) => s.custom_data.ticket === 'T-1')
    const copy = await editor.sessions.get(session.id)
    await copy.update({ custom_data: { ticket: 'T-1' } })
    await updated
    assert.equal(session.custom_data.ticket, 'T-1')
    assert.equal(session.custom_data.run, run, 'the whole resource arrives, not a diff')

    // Nobody touches it again: the reaper ends it and the SDK hears about it.
    const ended = await waitFor(session, 'ended', () => true)
    assert.equal(ended.id, session.id)
    assert.equal(session.state, 'ended')
    assert.equal(session.ended_reason, 'pending_timeout')
  })

  test('ending a session over REST reaches its subscriber as ended', async () => {
    const session = await watcher.sessions.create({ custom_data: { run } })
    await session.subscribe()
    const ended = waitFor(session, 'ended', () => true)
    await (await editor.sessions.get(session.id)).end()
    await ended
    assert.equal(session.ended_reason, 'agent_ended')
  })

  test('a subscribed device sees its presence and its updates', async () => {
    const id = `device-${run}`
    const registered = await registerDevice(base, env.TANDEM_LICENSE, id, { run })
    const device = await watcher.devices.get(id)
    await device.subscribe()
    // sync-presence answers at once: not online yet.
    await waitFor(device, 'updated', () => true)
    assert.equal(device.online, false)
    assert.equal(device.connectable, false, 'a socket device without a socket cannot be asked')

    const online = waitFor(device, 'updated', (d) => d.online)
    const socket = await openDeviceSocket(base, env.TANDEM_LICENSE, id, registered.device_token)
    await online
    assert.equal(device.connectable, true)

    const changed = waitFor(device, 'updated', (d) => d.custom_data.plan === 'gold')
    await refreshDevice(base, env.TANDEM_LICENSE, id, registered.device_token, { run, plan: 'gold' })
    await changed

    const offline = waitFor(device, 'updated', (d) => !d.online)
    socket.close()
    await offline
    assert.ok(device.last_active.getTime() > 0)
    device.unsubscribe()
  })
}

async function registerDevice (base, license, id, customData) {
  const res = await fetch(`${base}/api/1/devices/${id}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CobrowseLicense': license },
    body: JSON.stringify({ device: { platform: 'web', sdk_version: 'test' }, custom_data: customData })
  })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

async function refreshDevice (base, license, id, token, customData) {
  const res = await fetch(`${base}/api/1/devices/${id}`, {
    method: 'PUT',
    headers: {
      'Content-Type': 'application/json',
      'X-CobrowseLicense': license,
      'X-CobrowseDevice': id,
      Authorization: `Bearer ${token}`
    },
    body: JSON.stringify({ custom_data: customData })
  })
  assert.equal(res.status, 200, await res.clone().text())
}

/** The device side of presence: a notification socket as the web SDK holds it. */
function openDeviceSocket (base, license, id, token) {
  const url = new URL(`sockets/1/ws?X-CobrowseLicense=${license}&X-CobrowseDevice=${id}`,
    base.replace(/^http/, 'ws') + '/')
  const bearer = Buffer.from(token).toString('base64').replaceAll('=', '')
  const ws = new WebSocket(url, ['cbor', `cbio.http.headers.authorization.bearer.${bearer}`])
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws)
    ws.onerror = (e) => reject(new Error(`device socket failed: ${e.message ?? e.type}`))
  })
}
