// An abandoned session ends by itself: the customer's tab goes away, nothing more arrives, and
// the server's inactivity timeout (configured short by the Rust test) ends it for the agent.
//
//   TANDEM_API=… TANDEM_TOKEN=… TANDEM_LICENSE=… node --test sdk-js/e2e/inactivity.test.mjs
import { test } from 'node:test'
import { oneServer } from './helpers.mjs'

const { activeSession } = oneServer()

test('a session the customer abandons ends with active_timeout', async () => {
  const { customer, agent } = await activeSession()
  await customer.context().close()
  await agent.waitForSelector('#status:has-text("timed out after inactivity")', { timeout: 30_000 })
})
