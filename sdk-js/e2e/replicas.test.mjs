// The customer on one Tandem replica and the agent on another (shared PostgreSQL and Redis):
// one session, the page and its changes cross over.
//
//   TANDEM_API=<replica A> TANDEM_AGENT_API=<replica B> TANDEM_TOKEN=… TANDEM_LICENSE=… \
//     node --test sdk-js/e2e/replicas.test.mjs
import { test } from 'node:test'
import { environment, sides, useBrowser } from './helpers.mjs'

const env = environment(['TANDEM_API', 'TANDEM_AGENT_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE'])
const browser = useBrowser()
const { activeSession } = sides({
  browser,
  customerApi: env?.TANDEM_API,
  agentApi: env?.TANDEM_AGENT_API,
  token: env?.TANDEM_TOKEN,
  license: env?.TANDEM_LICENSE
})

test('customer on replica A, agent on replica B', async () => {
  const { customer, agent, screen } = await activeSession()
  await customer.evaluate(() => {
    document.getElementById('message').textContent = 'Across replicas'
  })
  await screen.locator('#message', { hasText: 'Across replicas' }).waitFor({ timeout: 10_000 })
  await agent.click('#end')
  await customer.waitForSelector('#tandem-banner', { state: 'detached', timeout: 10_000 })
})
