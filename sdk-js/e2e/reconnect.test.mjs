// The viewer's stream outlives its token: the server closes it when the token expires (4002,
// configured to a few seconds by the Rust test), the viewer reconnects with a fresh one and
// catches up, and the customer's changes keep arriving.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… node --test sdk-js/e2e/reconnect.test.mjs
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { oneServer } from './helpers.mjs'

const { activeSession } = oneServer()

test('an expired stream token makes the viewer reconnect and catch up', async () => {
  const { customer, agent, screen } = await activeSession()
  let sockets = 1
  agent.on('websocket', () => { sockets += 1 })
  await agent.waitForTimeout(4500)
  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'After the token expired'
  })
  await screen.locator('#message', { hasText: 'After the token expired' }).waitFor({ timeout: 10_000 })
  assert.ok(sockets >= 2, 'the viewer opened a new stream')
  await agent.waitForSelector('#status:has-text("Connected")', { timeout: 10_000 })
  await customer.evaluate(() => window.tandem.end())
})
