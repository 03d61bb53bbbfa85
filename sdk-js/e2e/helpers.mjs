// Shared by the Chromium suites: the browser, and the customer and agent sides of a session.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { gunzipSync, inflateRawSync } from 'node:zlib'
import { decode } from 'cbor-x'
import { chromium } from 'playwright-core'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

/**
 * Reads the environment a suite needs; a missing variable fails the run (it never skips).
 * Returns the values, or null when something is missing.
 */
export function environment (names) {
  const missing = names.filter((name) => !process.env[name])
  test('environment is configured', () => {
    assert.deepEqual(missing, [], `missing environment variables: ${missing.join(', ')}`)
  })
  return missing.length ? null : Object.fromEntries(names.map((n) => [n, process.env[n]]))
}

/** The compressed recording's events: every batch, and batches of pointer moves alone. */
const ZIPPED = ['rrweb-z', 'rrweb-p']

/**
 * What the page's frames carried, readable: every frame's bytes, followed, for each compressed
 * batch of the recording (`rrweb-z`, or `rrweb-p` for pointer moves alone; in one frame or joined
 * from its chunks), by what it decompresses to. The tests that look for what left the browser read this, so that compression
 * hides nothing from them.
 */
export function wireText (sent) {
  const out = []
  const inflate = (data) => (data.codec === 'gzip' ? gunzipSync : inflateRawSync)(data.bytes)
  let series = []
  for (const f of sent) {
    out.push(f)
    let frame
    try {
      frame = decode(f)
    } catch {
      continue
    }
    if (ZIPPED.includes(frame?.event)) out.push(inflate(frame.data))
    if (frame?.event !== 'chunk' || !ZIPPED.includes(frame.data?.event)) continue
    if (frame.data.seq === 0) series = []
    series.push(frame.data.bytes)
    if (series.length === frame.data.of) out.push(inflate(decode(Buffer.concat(series))))
  }
  return Buffer.concat(out)
}

/** How many of the page's frames were compressed recording (`rrweb-z`, `rrweb-p`, or chunks). */
export function zippedFrames (sent) {
  return sent.filter((f) => {
    try {
      const frame = decode(f)
      return ZIPPED.includes(frame?.event) || (frame?.event === 'chunk' && ZIPPED.includes(frame.data?.event))
    } catch {
      return false
    }
  }).length
}

/**
 * The recording events carried by `frames` (a page's sent frames, or a viewer's received ones):
 * plain `rrweb` events and compressed `rrweb-z` batches, whole or joined from their chunks, as
 * `{frame, types}` with `frame` the index of the frame that completed it.
 */
export function recordings (frames) {
  const out = []
  let series = []
  frames.forEach((f, frame) => {
    let msg
    try {
      msg = decode(f)
    } catch {
      return
    }
    if (msg?.event === 'rrweb') out.push({ frame, types: [msg.data?.type] })
    if (msg?.event === 'rrweb-z') out.push({ frame, types: msg.data.types })
    if (msg?.event !== 'chunk' || !['rrweb', 'rrweb-z'].includes(msg.data?.event)) return
    if (msg.data.seq === 0) series = []
    series.push(msg.data.bytes)
    if (series.length !== msg.data.of) return
    const data = decode(Buffer.concat(series))
    out.push({ frame, types: msg.data.event === 'rrweb' ? [data?.type] : data.types })
  })
  return out
}

/** How many full snapshots of the page `frames` carry (see `recordings`). */
export function fullSnapshots (frames) {
  return recordings(frames).filter((r) => r.types.includes(2)).length
}

/** One Chromium for the file; `browser()` gives it to tests. */
export function useBrowser () {
  let browser
  before(async () => { browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS }) })
  after(async () => { await browser?.close() })
  return () => browser
}

/**
 * The two sides of a session: the customer on `customerApi` (the demo page with the SDK), the
 * agent on `agentApi` (REST and the viewer), which may be another replica.
 */
export function sides ({ browser, customerApi, agentApi, token, license }) {
  /** A customer page with the SDK started, and every frame it sends on a socket. */
  async function customerPage (userId = '') {
    const page = await (await browser().newContext()).newPage()
    const sent = []
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(Buffer.from(f.payload))))
    const query = `license=${encodeURIComponent(license)}&user_id=${encodeURIComponent(userId)}`
    await page.goto(`${customerApi}/demo?${query}`)
    await page.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
    return { page, sent }
  }

  async function sessionByCode (code) {
    const res = await fetch(`${agentApi}/api/1/sessions/${code}`, {
      headers: { Authorization: `Bearer ${token}` }
    })
    assert.equal(res.status, 200, await res.clone().text())
    return res.json()
  }

  /** The agent's viewer for a session, in a browser context of its own. */
  async function viewerPage (sessionId) {
    const agent = await (await browser().newContext()).newPage()
    await agent.goto(`${agentApi}/session/${sessionId}?token=${encodeURIComponent(token)}`)
    return agent
  }

  async function readCode (customer) {
    await customer.click('#get-code')
    const shown = await customer.textContent('#tandem-code-value', { timeout: 10_000 })
    return shown.replace(/\s/g, '')
  }

  /** A customer with a code, an agent in the viewer, consent given, the page on screen. */
  async function activeSession () {
    const { page: customer, sent } = await customerPage()
    const session = await sessionByCode(await readCode(customer))
    const agent = await viewerPage(session.id)
    await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
    const screen = agent.frameLocator('#screen iframe')
    await screen.locator('#headline').waitFor({ timeout: 15_000 })
    return { customer, agent, screen, session, sent }
  }

  return { customerPage, sessionByCode, viewerPage, readCode, activeSession }
}

/**
 * The usual suite: one server (TANDEM_API), an agent's JWT and the account's license, plus any
 * `extra` variables; the browser and both sides of a session on that server.
 */
export function oneServer (extra = []) {
  const env = environment(['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_LICENSE', ...extra])
  const api = env?.TANDEM_API
  const token = env?.TANDEM_TOKEN
  const license = env?.TANDEM_LICENSE
  const browser = useBrowser()
  return { env, api, token, license, browser, ...sides({ browser, customerApi: api, agentApi: api, token, license }) }
}

// Evaluated rather than added as a script: the viewer's CSP runs no inline script.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
/** Where suites keep screenshots and failure images (gitignored). */
export const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname

/**
 * What a person sees on `page` now, at a desk's width and in a 400 px helpdesk sidebar:
 * screenshots kept in e2e/artifacts as `<name>-<width>.png`, and axe-core's serious or critical
 * findings within `scope` (a selector; the whole page by default) of `frame` (the page itself,
 * or a page it embeds), which should be none.
 */
/**
 * Waits (up to a second) for the finite animations and transitions running in `frame` (its
 * document and open shadow roots: the customer UI's) to end: a note still fading in has the
 * contrast of half its colour, and a screenshot of it shows what nobody sees for long.
 */
async function settled (frame) {
  await frame.evaluate(async () => {
    const roots = [document, ...[...document.querySelectorAll('*')].flatMap((e) => e.shadowRoot ? [e.shadowRoot] : [])]
    const finite = roots.flatMap((r) => r.getAnimations())
      .filter((a) => a.playState === 'running' && a.effect?.getComputedTiming().iterations !== Infinity)
    // Entrances last a few hundred ms; a longer one (a note's countdown) is not waited out.
    const enough = new Promise((resolve) => setTimeout(resolve, 1_000))
    await Promise.race([Promise.all(finite.map((a) => a.finished.catch(() => {}))), enough])
  })
}

export async function lookAt (page, name, { scope = 'html', height = 800, frame = page } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const findings = []
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height })
    await settled(frame)
    await page.screenshot({ path: `${ARTIFACTS}${name}-${width}.png` })
    await frame.evaluate(AXE)
    const { violations } = await frame.evaluate((scope) => window.axe.run(scope, { resultTypes: ['violations'] }), scope)
    for (const v of violations) {
      if (v.impact === 'serious' || v.impact === 'critical') findings.push(`${width}px ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    }
  }
  return findings
}
