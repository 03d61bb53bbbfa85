// What the dashboard's Chromium suites share: how Chromium is launched, where screenshots go,
// and looking at a page (screenshots at 1280 and 400 px, axe-core's serious or critical findings).
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
// One folder per backend: the harness runs both suites at once.
const ARTIFACTS = new URL(`./artifacts/${process.env.TANDEM_BACKEND ?? 'local'}/`, import.meta.url).pathname
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

/** Screenshots at 1280 and 400 px, and axe-core's serious or critical findings (none expected). */
export async function lookAt (page, name, { height = 900 } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const findings = []
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height })
    await sleep(150)
    await page.screenshot({ path: `${ARTIFACTS}${name}-${width}.png`, fullPage: true })
    await page.evaluate(AXE)
    const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
    for (const v of violations) {
      if (v.impact === 'serious' || v.impact === 'critical') findings.push(`${width}px ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    }
  }
  await page.setViewportSize({ width: 1280, height })
  assert.deepEqual(findings, [], `accessibility problems on ${name}`)
}
