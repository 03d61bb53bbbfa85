// The customer on one Tandem replica and the agent on another (shared PostgreSQL and Redis):
// one session, the page and its changes cross over.
//
//   TANDEM_API=<replica A> TANDEM_AGENT_API=<replica B> TANDEM_TOKEN=… TANDEM_LICENSE=… \
//     node --test sdk-js/e2e/replicas.test.mjs
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { environment, sides, useBrowser } from './helpers.mjs'

const env = environment(['TANDEM_API', 'TANDEM_AGENT_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE'])
const browser = useBrowser()
const { activeSession, viewerPage } = sides({
  browser,
  customerApi: env?.TANDEM_API,
  agentApi: env?.TANDEM_AGENT_API,
  token: env?.TANDEM_TOKEN,
  license: env?.TANDEM_LICENSE
})

test('customer on replica A, agent on replica B', async () => {
  const { customer, agent, screen, session } = await activeSession()
  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'Across replicas'
  })
  await screen.locator('#message', { hasText: 'Across replicas' }).waitFor({ timeout: 10_000 })
  // The page records while the agent on the other replica watches; it leaves, and the page stops.
  assert.equal(await customer.evaluate(() => window.tandem.recording), true)
  await agent.context().close()
  await customer.waitForFunction(() => window.tandem.recording === false, null, { timeout: 10_000 })
  // Another agent there: the page records again, and the viewer shows it as it is now.
  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'Nobody watched this change'
  })
  const again = await viewerPage(session.id)
  await again.frameLocator('#screen iframe').locator('#message', { hasText: 'Nobody watched' }).waitFor({ timeout: 15_000 })
  assert.equal(await customer.evaluate(() => window.tandem.recording), true)
  await again.click('#end')
  await customer.waitForSelector('#tandem-banner', { state: 'detached', timeout: 10_000 })
})
