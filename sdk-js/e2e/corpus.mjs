// The real-page corpus harness (issue 19), shared by the fidelity suite (e2e/fidelity.test.mjs)
// and its benchmark (bench/fidelity.mjs): serves each corpus page from its own origin with the
// web SDK injected, opens it as the customer and the session in the viewer as the agent, and
// compares what each sees (pixels of the customer's viewport against the mirror, and the visible
// text) at rest, after scrolling and after an interaction.
//
// The pages come from tests/corpus/fetch.sh (TANDEM_CORPUS is its directory); the list, with
// each page's interaction, is tests/corpus/pages.json.
import { createServer } from 'node:http'
import { readFileSync, realpathSync, statSync, createReadStream, mkdirSync, writeFileSync } from 'node:fs'
import { join, extname, resolve, sep } from 'node:path'
import { PNG } from 'pngjs'
import pixelmatch from 'pixelmatch'

/** The customer's window; the agent's is big enough that the mirror is at scale 1. */
export const VIEWPORT = { width: 1024, height: 768 }
const AGENT_VIEWPORT = { width: 1400, height: 1100 }
/** At most this share of the viewport's pixels may differ, at every step. */
export const MAX_DIFF = 0.02
/** pixelmatch's per-pixel colour threshold (0..1): small, so that real differences count. */
const PIXEL_THRESHOLD = 0.1
/** How long a page may take to appear in the viewer, and a step to converge. */
const FIRST_PAINT_TIMEOUT = 30_000
const CONVERGE_TIMEOUT = 8_000

export const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname
const LIST = new URL('../../tests/corpus/pages.json', import.meta.url)
const BENCH_RECORDER = new URL('../dist/bench-recorder.js', import.meta.url).pathname

/** The corpus pages (tests/corpus/pages.json), optionally only those named in `only`. */
export function corpusPages (only = process.env.TANDEM_CORPUS_ONLY) {
  const pages = JSON.parse(readFileSync(LIST, 'utf8')).pages
  if (!only) return pages
  const names = only.split(',').map((s) => s.trim())
  return pages.filter((p) => names.includes(p.name))
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.jsx': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.txt': 'text/plain; charset=utf-8'
}

/**
 * What the server adds to every HTML page: a long-task observer (for the recorder's cost), the
 * web SDK from the Tandem server and its start, without the built-in UI (the test answers the
 * consent question), the instance as `window.tandem`.
 */
function injection (api, license) {
  const options = JSON.stringify({ license, api, disableBuiltInUI: true })
  return '<script>window.__longtasks = []; try { new PerformanceObserver((l) => { for (const e of l.getEntries()) ' +
    'window.__longtasks.push([e.startTime, e.duration]) }).observe({ type: "longtask", buffered: true }) } catch (e) {}</script>' +
    `<script src="${api}/sdk-js/tandem.js"></script>` +
    `<script>Tandem.start(${options}).then((t) => { window.tandem = t }, (e) => { window.tandemError = String(e) })</script>`
}

function inject (html, snippet) {
  for (const re of [/<head(\s[^>]*)?>/i, /<html(\s[^>]*)?>/i]) {
    const m = re.exec(html)
    if (m) return html.slice(0, m.index + m[0].length) + snippet + html.slice(m.index + m[0].length)
  }
  return snippet + html
}

/**
 * Serves one corpus site (`page.root` under `corpus`) on its own port, as a plain web server
 * would: no CORS headers, with the web SDK started on each HTML page when `api` is given. Symlinks may lead elsewhere in the corpus (the Debian tree's do), not
 * out of it. Resolves to `{ origin, url, close }`.
 */
export async function serveSite (corpus, page, { api, license } = {}) {
  const base = realpathSync(corpus)
  const root = resolve(corpus, page.root)
  // Without a Tandem server, the pages as they are.
  const snippet = api ? injection(api, license) : ''
  const server = createServer((req, res) => {
    const notFound = () => { res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found') }
    let file
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
      file = realpathSync(join(root, path))
      if (file !== base && !file.startsWith(base + sep)) return notFound()
      if (statSync(file).isDirectory()) file = realpathSync(join(file, 'index.html'))
    } catch {
      return notFound()
    }
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
    if (type.startsWith('text/html')) {
      const html = inject(readFileSync(file, 'utf8'), snippet)
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' })
      return res.end(html)
    }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' })
    createReadStream(file).pipe(res)
  })
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
  const origin = `http://127.0.0.1:${server.address().port}`
  return {
    origin,
    url: `${origin}/${page.page}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok) })
  }
}

/** The browser goes nowhere but this machine: the pages' links to the web fail at once. */
export async function offline (context) {
  await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:', (r) => r.abort())
}

/** The mirror's frame in the viewer, its document, and the wrapper's scale. */
function mirrorState () {
  const frame = document.querySelector('#screen iframe')
  const doc = frame?.contentDocument
  const wrapper = document.querySelector('#screen .replayer-wrapper')
  return {
    ready: !!doc?.body,
    scale: wrapper ? Number(wrapper.dataset.scale ?? '1') : null,
    x: doc?.defaultView?.scrollX ?? 0,
    y: doc?.defaultView?.scrollY ?? 0,
    status: document.getElementById('status')?.textContent ?? ''
  }
}

/** The visible text of a document, with runs of white space as one space. */
function normalise (text) {
  return text.replace(/\s+/g, ' ').trim()
}

/** Where two texts first differ, with some context, for a failure message. */
export function textDifference (a, b) {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  if (i === a.length && i === b.length) return null
  return `at character ${i} of ${a.length} (customer) / ${b.length} (mirror):\n` +
    `  customer: …${JSON.stringify(a.slice(Math.max(0, i - 60), i + 100))}\n` +
    `  mirror:   …${JSON.stringify(b.slice(Math.max(0, i - 60), i + 100))}`
}

/**
 * One corpus page mirrored: the customer on the page at VIEWPORT, the agent in the viewer, the
 * session active. Returns the handles and what was measured on the way (first paint, bytes).
 * `around` (a benchmark's) may measure the customer's side from just before consent
 * (`before(customer)`) until the page is in the viewer (`after(customer)`, whose result is
 * returned as `measured`).
 */
export async function openMirrored ({ browser, api, token, page, site, around = null }) {
  const customerContext = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 })
  await offline(customerContext)
  const customer = await customerContext.newPage()
  let counting = false
  let wireBytes = 0
  customer.on('websocket', (ws) => ws.on('framesent', (f) => {
    if (counting) wireBytes += typeof f.payload === 'string' ? Buffer.byteLength(f.payload) : f.payload.length
  }))
  const agentContext = await browser.newContext({ viewport: AGENT_VIEWPORT, deviceScaleFactor: 1 })
  await offline(agentContext)
  const close = async () => { await customerContext.close(); await agentContext.close() }
  try {
    await customer.goto(site.url, { waitUntil: 'load', timeout: 60_000 })
    await customer.waitForFunction(() => window.tandem || window.tandemError, null, { timeout: 20_000 })
    const startError = await customer.evaluate(() => window.tandemError)
    if (startError) throw new Error(`${page.name}: the web SDK did not start: ${startError}`)
    await customer.evaluate(() => document.fonts.ready.then(() => {}))
    const code = await customer.evaluate(() => window.tandem.createSessionCode())
    const res = await fetch(`${api}/api/1/sessions/${code}`, { headers: { Authorization: `Bearer ${token}` } })
    if (res.status !== 200) throw new Error(`${page.name}: GET /api/1/sessions/${code}: ${res.status} ${await res.text()}`)
    const session = await res.json()

    const agent = await agentContext.newPage()
    await agent.goto(`${api}/session/${session.id}?token=${encodeURIComponent(token)}`)
    await customer.waitForFunction(() => window.tandem.session?.state === 'authorizing', null, { timeout: 15_000 })

    // The customer's first line of text, to know the mirror shows this page.
    const probe = await customer.evaluate(() => document.body.innerText.split('\n').map((l) => l.trim()).find((l) => l.length > 3) ?? '')
    await around?.before(customer)
    counting = true
    const t0 = Date.now()
    // From a task of the page's own, as a click on Allow would be (the debugger's are not
    // reported as long tasks).
    await customer.evaluate(() => new Promise((resolve, reject) => setTimeout(() => {
      window.__consentAt = performance.now()
      window.tandem.consent(true).then(resolve, reject)
    }, 0)))
    let firstPaint = null
    try {
      // textContent, not innerText: polling must not lay out a large mirror every 25 ms, which
      // would slow down the very thing it times.
      await agent.waitForFunction((probe) => {
        const body = document.querySelector('#screen iframe')?.contentDocument?.body
        if (!body?.firstChild) return false
        // Case aside: innerText shows text-transform, textContent does not.
        const plain = (t) => t.replace(/\s+/g, ' ').toLowerCase()
        return plain(body.textContent).includes(plain(probe))
      }, probe, { timeout: FIRST_PAINT_TIMEOUT, polling: 25 })
      firstPaint = Date.now() - t0
    } catch {
      // Reported by the caller: the page never appeared.
    }
    const bytesToFirstPaint = wireBytes
    counting = false
    const measured = await around?.after(customer)
    return { customer, agent, session, firstPaint, wireBytes: bytesToFirstPaint, measured, close }
  } catch (e) {
    await close()
    throw e
  }
}

/** Both views now: PNGs of the customer's viewport and of the mirror's same area, and texts. */
async function capture (customer, agent) {
  const view = await customer.evaluate(() => ({
    // The viewport without its scroll bars: the page's area, which the mirror shows.
    width: Math.floor(window.visualViewport.width),
    height: Math.floor(window.visualViewport.height),
    text: document.body?.innerText ?? '',
    x: window.scrollX,
    y: window.scrollY
  }))
  const frame = agent.locator('#screen iframe')
  const box = await frame.boundingBox()
  const inset = await frame.evaluate((f) => ({ left: f.clientLeft, top: f.clientTop }))
  const clip = { width: view.width, height: view.height }
  const [a, b] = await Promise.all([
    customer.screenshot({ clip: { x: 0, y: 0, ...clip }, animations: 'disabled', caret: 'hide' }),
    agent.screenshot({ clip: { x: box.x + inset.left, y: box.y + inset.top, ...clip }, animations: 'disabled', caret: 'hide' })
  ])
  const mirror = await agent.evaluate(() => {
    const doc = document.querySelector('#screen iframe')?.contentDocument
    return { text: doc?.body?.innerText ?? '', x: doc?.defaultView?.scrollX ?? 0, y: doc?.defaultView?.scrollY ?? 0 }
  })
  return { view, mirror, customerPng: a, mirrorPng: b, box }
}

/** Compares the two PNGs: the share of pixels that differ, and the diff image. */
function comparePngs (customerPng, mirrorPng) {
  const a = PNG.sync.read(customerPng)
  const b = PNG.sync.read(mirrorPng)
  if (a.width !== b.width || a.height !== b.height) {
    return { ratio: 1, pixels: a.width * a.height, diff: null, a, b, note: `sizes differ: ${a.width}x${a.height} / ${b.width}x${b.height}` }
  }
  const diff = new PNG({ width: a.width, height: a.height })
  const pixels = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: PIXEL_THRESHOLD })
  return { ratio: pixels / (a.width * a.height), pixels, diff, a, b }
}

/** customer | mirror | diff, side by side, 8 px apart, into one PNG. */
function sideBySide ({ a, b, diff }) {
  const gap = 8
  const parts = [a, b, diff].filter(Boolean)
  const width = parts.reduce((w, p) => w + p.width, 0) + gap * (parts.length - 1)
  const height = Math.max(...parts.map((p) => p.height))
  const out = new PNG({ width, height })
  out.data.fill(255)
  let x0 = 0
  for (const p of parts) {
    PNG.bitblt(p, out, 0, 0, p.width, p.height, x0, 0)
    x0 += p.width + gap
  }
  return PNG.sync.write(out)
}

/**
 * Compares the two views until they agree (pixels within MAX_DIFF, the same text, the mirror
 * at the customer's scroll position) or CONVERGE_TIMEOUT passes; returns the last comparison.
 */
async function converge (customer, agent) {
  const deadline = Date.now() + CONVERGE_TIMEOUT
  let last
  for (;;) {
    const shot = await capture(customer, agent)
    const cmp = comparePngs(shot.customerPng, shot.mirrorPng)
    const customerText = normalise(shot.view.text)
    const mirrorText = normalise(shot.mirror.text)
    last = {
      ratio: cmp.ratio,
      note: cmp.note,
      textDiff: textDifference(customerText, mirrorText),
      scrolled: { customer: [shot.view.x, shot.view.y], mirror: [shot.mirror.x, shot.mirror.y] },
      cmp
    }
    const sameScroll = Math.abs(shot.view.y - shot.mirror.y) < 1 && Math.abs(shot.view.x - shot.mirror.x) < 1
    if ((cmp.ratio <= MAX_DIFF && !last.textDiff && sameScroll) || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return last
}

/** Runs one interaction of the page's list on the customer's side. */
async function act (customer, action) {
  if (action.fill) {
    const field = customer.locator(action.fill).first()
    await field.click()
    await field.press('ControlOrMeta+a')
    await customer.keyboard.type(action.text)
  } else if (action.click) {
    await customer.locator(action.click).first().click()
  } else if (action.press) {
    await customer.keyboard.press(action.press)
  } else if (action.scrollTo !== undefined) {
    await customer.evaluate((y) => window.scrollTo(0, y), action.scrollTo)
  } else if (action.select) {
    // Selects the first matching element in view with some text, as dragging the mouse over it
    // would (a click could follow a link in it).
    const found = await customer.evaluate((sel) => {
      const el = [...document.querySelectorAll(sel)].find((el) => {
        const r = el.getBoundingClientRect()
        return r.top >= 0 && r.bottom <= innerHeight && r.width > 0 && el.textContent.trim().length > 20
      })
      if (el) getSelection().selectAllChildren(el)
      return !!el
    }, action.select)
    if (!found) throw new Error(`nothing in view matches ${action.select} to select`)
  } else {
    throw new Error(`unknown action ${JSON.stringify(action)}`)
  }
}

/** Where the customer scrolls to: two and a half windows down, or as far as the page goes. */
async function scrollCustomer (customer) {
  await customer.evaluate(() => {
    const max = document.scrollingElement.scrollHeight - innerHeight
    window.scrollTo(0, Math.max(0, Math.min(max, Math.round(innerHeight * 2.5))))
  })
}

/** Keeps the three PNGs of a step (side by side: customer | mirror | diff) and its text diff. */
function keep (page, step, result) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const png = join(ARTIFACTS, `${page.name}-${step}.png`)
  writeFileSync(png, sideBySide(result.cmp))
  const files = [png]
  if (result.textDiff) {
    const txt = join(ARTIFACTS, `${page.name}-${step}-text.txt`)
    writeFileSync(txt, result.textDiff + '\n')
    files.push(txt)
  }
  return files
}

/**
 * The whole scenario for one page: served, mirrored, compared at rest, after scrolling and
 * after the page's interaction; then the page's size. Returns one row of measurements and the
 * failures (empty when the page mirrors within the bounds). `keepAll` keeps every step's PNGs.
 */
export async function runPage ({ browser, api, token, license, corpus, page, keepAll = false, around = null }) {
  const site = await serveSite(corpus, page, { api, license })
  const row = { name: page.name, generator: page.generator, steps: {}, failures: [], artifacts: [] }
  let mirrored
  try {
    mirrored = await openMirrored({ browser, api, token, page, site, around })
    const { customer, agent } = mirrored
    row.firstPaint = mirrored.firstPaint
    Object.assign(row, mirrored.measured ?? {})
    row.wireBytes = mirrored.wireBytes
    if (mirrored.firstPaint === null) {
      const state = await agent.evaluate(mirrorState)
      row.failures.push(`never appeared in the viewer within ${FIRST_PAINT_TIMEOUT / 1000} s (viewer status: "${state.status}")`)
      mkdirSync(ARTIFACTS, { recursive: true })
      const png = join(ARTIFACTS, `${page.name}-never-appeared.png`)
      await agent.screenshot({ path: png })
      row.artifacts.push(png)
    } else {
      const state = await agent.evaluate(mirrorState)
      if (state.scale !== 1) row.failures.push(`the mirror is at scale ${state.scale}, not 1`)
      const steps = [['rest', async () => {}], ['scroll', page.noScroll ? null : () => scrollCustomer(customer)],
        ['interaction', async () => {
          for (const a of page.interaction) await act(customer, a)
          if (customer.url().split("#")[0] !== site.url) throw new Error(`${page.name}: the interaction left the page for ${customer.url()}`)
        }]]
      for (const [step, run] of steps) {
        if (!run) continue
        await run()
        const result = await converge(customer, agent)
        row.steps[step] = result.ratio
        const problems = []
        if (result.note) problems.push(result.note)
        if (result.ratio > MAX_DIFF) problems.push(`${(result.ratio * 100).toFixed(2)}% of pixels differ (at most ${MAX_DIFF * 100}%)`)
        if (result.textDiff) problems.push(`the visible text differs ${result.textDiff}`)
        const { customer: c, mirror: m } = result.scrolled
        if (Math.abs(c[1] - m[1]) >= 1 || Math.abs(c[0] - m[0]) >= 1) problems.push(`scrolled to ${m} in the mirror, ${c} on the page`)
        if (problems.length || keepAll) row.artifacts.push(...keep(page, step, result))
        for (const p of problems) row.failures.push(`${step}: ${p}`)
      }
    }
    // The page's size: its nodes, and its full snapshot as the web SDK records it (JSON), taken
    // last so that it costs nothing the steps above measured.
    Object.assign(row, await mirrored.customer.evaluate(() => {
      const consent = window.__consentAt ?? 0
      const tasks = (window.__longtasks ?? []).filter(([start]) => start >= consent)
      let nodes = 0
      const walk = document.createTreeWalker(document, NodeFilter.SHOW_ALL)
      while (walk.nextNode()) nodes++
      return {
        elements: document.getElementsByTagName('*').length,
        nodes,
        longestTask: tasks.reduce((m, [, d]) => Math.max(m, d), 0)
      }
    }))
    await mirrored.customer.addScriptTag({ path: BENCH_RECORDER })
    row.snapshotBytes = await mirrored.customer.evaluate(async () => {
      let bytes = 0
      const recording = window.benchRecord('tandem', (e) => { if (e.type === 2) bytes = JSON.stringify(e).length })
      await recording.done
      recording.stop()
      return bytes
    })
  } finally {
    await mirrored?.close()
    await site.close()
  }
  return row
}

/** The table the benchmark prints (and the suite, for the record). */
export function table (rows) {
  const pct = (v) => v === undefined ? '-' : `${(v * 100).toFixed(2)}%`
  const kb = (v) => v === undefined ? '-' : `${(v / 1024).toFixed(0)} KB`
  const ms = (v) => v === undefined || v === null ? 'never' : `${Math.round(v)} ms`
  const task = (v) => v === undefined || v === null ? '-' : `${Math.round(v)} ms`
  const head = ['page', 'rest', 'scroll', 'interaction', 'snapshot (JSON)', 'sent to 1st paint', 'elements', 'nodes', 'first paint',
    'task to sent', 'long task after', 'ok']
  const lines = rows.map((r) => [r.name, pct(r.steps?.rest), pct(r.steps?.scroll), pct(r.steps?.interaction),
    kb(r.snapshotBytes), kb(r.wireBytes), String(r.elements ?? '-'), String(r.nodes ?? '-'), ms(r.firstPaint),
    task(r.consentTask), task(r.longestTask), r.failures.length ? 'FAIL' : 'ok'])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (l) => l.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n')
}
