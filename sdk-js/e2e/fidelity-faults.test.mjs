// The fidelity faults of issue 19, each on a small page of its own kind, in real Chromium: the
// customer's page (served here, on 127.0.0.1, with the web SDK from the Tandem server) and the
// agent's mirror of it in the viewer must agree.
//
//   TANDEM_API=http://127.0.0.1:12345 TANDEM_TOKEN=<agent JWT> TANDEM_LICENSE=<license> \
//     node --test sdk-js/e2e/fidelity-faults.test.mjs
//
// The account must let the viewer load assets from http://127.0.0.1:* and http://localhost:*
// (api/tests/it/e2e.rs, `fidelity_faults_in_chromium`).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { lookAt, oneServer, wireText } from './helpers.mjs'

const { api, license, browser, sessionByCode, viewerPage } = oneServer()

const SVG = (w, h, fill) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="${fill}"/></svg>`

/** The pages; `{API}` and `{LICENSE}` filled in, `{OTHER}` is this server as another origin. */
const PAGES = {
  '/fragments.html': `
<style>#circle { width:100px; height:100px; background:red; clip-path:url(#clip) } .grad { fill:url("#g") }</style>
<svg width="0" height="0" style="position:absolute"><defs>
  <clipPath id="clip" clipPathUnits="objectBoundingBox"><circle cx=".5" cy=".5" r=".5"/></clipPath>
  <linearGradient id="g"><stop offset="0" stop-color="blue"/><stop offset="1" stop-color="green"/></linearGradient>
</defs></svg>
<div id="circle"></div>
<div id="inline" style="width:100px;height:100px;background:purple;clip-path:url('#clip')"></div>
<svg width="120" height="120"><rect id="gradient" class="grad" width="100" height="100"/></svg>`,
  // The field is cleared the way React clears it: through the native setter it kept before the
  // recorder hooked the prototype's.
  '/framework.html': `
<script>
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set
  addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return
    const item = document.createElement('li')
    item.textContent = document.getElementById('todo').value
    document.getElementById('list').appendChild(item)
    setValue.call(document.getElementById('todo'), '')
    setValue.call(document.getElementById('pin'), 'canary-pin-5521')
  })
</script>
<input id="todo" placeholder="What needs doing?"> <input id="pin" type="password">
<ul id="list"></ul>`,
  '/layout.html': `
<p id="line">before <input type="hidden" name="csrf" value="x"> after</p>
<style>#secret { padding:20px; border:3px solid red }</style>
<div id="secret" data-tandem-redact style="display:none">a secret</div>
<p id="last">The last line of the page.</p>`,
  '/focus.html': `
<p id="para">Select this sentence of text to see the selection colour in the mirror.</p>
<input id="first" value="first"> <input id="second" value="second">`,
  '/scroll.html': `
<link rel="stylesheet" href="{OTHER}/scroll.css">
<div id="box"><div id="tall">scroll me</div></div>
<script>onload = () => { document.getElementById('box').scrollTop = 250 }</script>`,
  '/canvas.html': `
<canvas id="drawn" width="200" height="80"></canvas>
<canvas id="tainted" width="120" height="60"></canvas>
<iframe id="foreign" src="{OTHER}/frame.html" width="200" height="60"></iframe>
<script>
  const c = document.getElementById('drawn').getContext('2d')
  c.fillStyle = 'orange'; c.fillRect(0, 0, 200, 80)
  const img = new Image()
  img.onload = () => document.getElementById('tainted').getContext('2d').drawImage(img, 0, 0)
  img.src = '{OTHER}/pic.svg'
</script>`,
  '/structure.html': `
<base href="/assets/">
<style>@import url("imported.css");</style>
<details id="details" open><summary>Summary</summary>Details body</details>
<div id="bg" class="bg">background</div>
<iframe id="same" srcdoc="<p id=inner>same-origin frame</p>" width="200" height="60"></iframe>
<dialog id="dialog"><p>A modal dialog</p></dialog>`,
  '/assets/imported.css': '.bg { background: url(dot.svg); width: 60px; height: 40px }',
  '/assets/dot.svg': SVG(20, 20, 'crimson'),
  '/scroll.css': '#box { height:120px; width:300px; overflow:auto; border:1px solid } #tall { height:800px; background:linear-gradient(red, blue) }',
  '/pic.svg': SVG(120, 60, 'teal'),
  '/frame.html': '<p>another site</p>',
  // A site with the SDK on every page, framing one of its own pages once the session is on.
  '/framing.html': '<p id="outer">The page around the frame.</p><iframe id="inner" width="300" height="80"></iframe>',
  '/framed.html': '<p id="framed-text">A page of the same site, in a frame.</p>'
}

let server
let base = ''
let other = ''
before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    let body = PAGES[path]
    if (body === undefined) { res.writeHead(404); return res.end() }
    const type = path.endsWith('.css') ? 'text/css' : path.endsWith('.svg') ? 'image/svg+xml' : 'text/html'
    if (type === 'text/html' && path !== '/frame.html') {
      body = `<!doctype html><html><head><meta charset="utf-8"><style>body { font: 16px/1.4 sans-serif; margin: 8px }</style>
<script src="${api}/sdk-js/tandem.js"></script></head><body>${body}
<script>Tandem.start({ license: ${JSON.stringify(license)}, api: ${JSON.stringify(api)} }).then((t) => { window.tandem = t })</script>
</body></html>`
    }
    res.writeHead(200, { 'content-type': type, 'access-control-allow-origin': '*' })
    res.end(body.replaceAll('{OTHER}', other))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${server.address().port}`
  // The same server under another name: another site, for the page.
  other = `http://localhost:${server.address().port}`
})
after(() => server?.close())

/** A customer on `path`, an agent in the viewer, consent given, the page in the mirror. */
async function mirrored (path, ready) {
  const customer = await (await browser().newContext({ viewport: { width: 1000, height: 700 } })).newPage()
  const sent = []
  customer.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(Buffer.from(f.payload))))
  await customer.goto(`${base}${path}`)
  await customer.waitForFunction(() => window.tandem !== undefined, null, { timeout: 10_000 })
  const code = await customer.evaluate(() => window.tandem.createSessionCode())
  const session = await sessionByCode(code)
  const agent = await viewerPage(session.id)
  await agent.setViewportSize({ width: 1300, height: 900 })
  await customer.click('#tandem-consent button:has-text("Allow")', { timeout: 10_000 })
  await customer.waitForSelector('#tandem-banner')
  const screen = agent.frameLocator('#screen iframe')
  await screen.locator(ready).waitFor({ state: 'attached', timeout: 15_000 })
  /** Runs `fn(doc, arg)` on the mirror's document (in its frame: the viewer's CSP has no eval). */
  const inMirror = (fn, arg) => agent.mainFrame().childFrames()[0]
    .evaluate(`(${fn.toString()})(document, ${JSON.stringify(arg ?? null)})`)
  return { customer, agent, screen, sent, inMirror, close: () => Promise.all([customer.context().close(), agent.context().close()]) }
}

/** Waits until `fn()` (async) returns something truthy; fails with `what`. */
async function until (what, fn, timeout = 8000) {
  const end = Date.now() + timeout
  let last
  while (Date.now() < end) {
    last = await fn()
    if (last) return last
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail(`${what} (last: ${JSON.stringify(last)})`)
}

test('url(#id) references stay local: SVG clip paths and gradients render in the mirror', async () => {
  const m = await mirrored('/fragments.html', '#gradient')
  const seen = await m.inMirror((doc) => ({
    sheet: [...doc.querySelectorAll('style')].map((s) => s.textContent).join('\n'),
    inline: doc.getElementById('inline').getAttribute('style'),
    circle: getComputedStyle(doc.getElementById('circle')).clipPath,
    fill: getComputedStyle(doc.getElementById('gradient')).fill
  }))
  assert.match(seen.inline, /clip-path:\s*url\('#clip'\)/)
  assert.match(seen.sheet, /clip-path:\s*url\("#clip"\)/)
  assert.match(seen.sheet, /fill:\s*url\("#g"\)/)
  assert.equal(seen.circle, 'url("#clip")')
  assert.equal(seen.fill, 'url("#g")')
  assert.ok(!/\/#(clip|g)\b/.test(seen.sheet + seen.inline), 'a fragment was made into a URL')
  await m.close()
})

test('a value the page writes through a kept native setter reaches the mirror, masked if a password', async () => {
  const m = await mirrored('/framework.html', '#todo')
  await m.customer.click('#todo')
  await m.customer.keyboard.type('buy milk')
  await until('the typed text in the mirror', () => m.inMirror((doc) => doc.getElementById('todo').value === 'buy milk'))
  await m.customer.keyboard.press('Enter')
  assert.equal(await m.customer.inputValue('#todo'), '')
  await until('the list item in the mirror', () => m.inMirror((doc) => doc.getElementById('list').textContent === 'buy milk'))
  await until('the cleared field in the mirror', () => m.inMirror((doc) => doc.getElementById('todo').value === ''))
  await until('the masked password in the mirror', () => m.inMirror((doc) => doc.getElementById('pin').value === '*'.repeat(15)))
  assert.ok(!wireText(m.sent).includes('canary-pin-5521'), 'the password left the browser')
  await m.close()
})

test('hidden redacted elements and the SDK\'s own banner take no room in the mirror', async () => {
  const m = await mirrored('/layout.html', '#last')
  const measure = (doc) => {
    const line = doc.getElementById('line')
    const boxes = [...line.querySelectorAll('input')].filter((i) => i.getClientRects().length)
    const last = doc.getElementById('last').getBoundingClientRect()
    return { height: doc.documentElement.scrollHeight, lastBottom: Math.round(last.bottom), line: Math.round(line.getBoundingClientRect().width), boxes: boxes.length, rendered: [...doc.body.querySelectorAll('*')].filter((e) => { const r = e.getBoundingClientRect(); return r.width * r.height > 0 && r.top >= last.bottom && !e.closest('.tandem-service') }).length }
  }
  const customer = await m.customer.evaluate(`(${measure.toString()})(document)`)
  const mirror = await m.inMirror(measure)
  assert.equal(mirror.boxes, 0, 'a hidden input shows as a box')
  assert.equal(mirror.lastBottom, customer.lastBottom)
  assert.equal(mirror.height, customer.height, 'the mirror is taller than the page')
  assert.equal(mirror.rendered, 0, 'something shows below the last line')
  await m.close()
})

test('the customer\'s focus shows as a ring and their selection in the active selection colour', async () => {
  const m = await mirrored('/focus.html', '#second')
  await m.customer.click('#second')
  await until('the focus ring in the mirror', () => m.inMirror((doc) => {
    const s = getComputedStyle(doc.getElementById('second'))
    const f = getComputedStyle(doc.getElementById('first'))
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && f.outlineStyle === 'none'
  }))
  assert.equal(await m.agent.evaluate(() => document.activeElement?.tagName), 'BODY', 'the agent\'s own focus moved')
  await m.customer.evaluate(() => {
    const text = document.getElementById('para').firstChild
    const r = document.createRange()
    r.setStart(text, 0)
    r.setEnd(text, 20)
    getSelection().removeAllRanges()
    getSelection().addRange(r)
  })
  await until('the selection in the mirror', () => m.inMirror((doc) => String(doc.getSelection()) === 'Select this sentenc'.concat('e')))
  const colour = await m.inMirror((doc) => getComputedStyle(doc.getElementById('para'), '::selection').backgroundColor)
  assert.notEqual(colour, 'rgba(0, 0, 0, 0)', 'the selection has no colour of its own (it paints inactive)')
  await m.close()
})

test('an inner scroll container rests where the customer left it, its stylesheet loaded late', async () => {
  const m = await mirrored('/scroll.html', '#tall')
  assert.equal(await m.customer.evaluate(() => document.getElementById('box').scrollTop), 250)
  await until('the scroll offset in the mirror', () => m.inMirror((doc) => doc.getElementById('box').scrollTop === 250))
  await m.close()
})

test('canvases show as images; a tainted canvas and a foreign frame as labelled boxes of their size', async () => {
  const m = await mirrored('/canvas.html', '#foreign')
  await until('the canvas image in the mirror', () => m.inMirror((doc) => {
    const c = doc.getElementById('drawn')
    const r = c.getBoundingClientRect()
    return r.width === 200 && r.height === 80 && /url\("data:image\/webp;base64,/.test(c.style.backgroundImage)
  }))
  await until('the tainted canvas placeholder', () => m.inMirror((doc) => {
    const c = doc.getElementById('tainted')
    const r = c.getBoundingClientRect()
    return r.width === 120 && r.height === 60 && /data:image\/svg\+xml/.test(c.style.backgroundImage) && c.title
  }))
  const frame = await m.inMirror((doc) => {
    const f = doc.getElementById('foreign')
    return { w: f.getBoundingClientRect().width, bg: f.style.backgroundImage, title: f.title }
  })
  assert.equal(frame.w, await m.customer.evaluate(() => document.getElementById('foreign').getBoundingClientRect().width))
  assert.match(frame.bg, /data:image\/svg\+xml/)
  assert.match(frame.title, /another site/i)
  await m.close()
})

test('<dialog> in the top layer, details, @import and <base> URLs and same-origin frames', async () => {
  const m = await mirrored('/structure.html', '#dialog')
  // Opened once the customer has allowed the session (a modal dialog makes the rest inert).
  await m.customer.evaluate(() => document.getElementById('dialog').showModal())
  await until('the modal dialog in the mirror', () => m.inMirror((doc) => doc.getElementById('dialog').matches(':modal')))
  const seen = await m.inMirror((doc) => ({
    open: doc.getElementById('details').open,
    bg: getComputedStyle(doc.getElementById('bg')).backgroundImage,
    inner: doc.getElementById('same').contentDocument?.getElementById('inner')?.textContent
  }))
  assert.equal(seen.open, true)
  assert.match(seen.bg, /^url\("http:\/\/127\.0\.0\.1:\d+\/assets\/dot\.svg"\)$/)
  assert.equal(seen.inner, 'same-origin frame')
  await m.close()
})

test('with a modal dialog open on the page, the customer can still answer the agent', async () => {
  const m = await mirrored('/structure.html', '#dialog')
  await m.customer.evaluate(() => document.getElementById('dialog').showModal())
  await m.agent.click('#control:has-text("Request control")')
  // Everything outside the dialog is inert: the question lives inside it while it is open.
  await m.customer.waitForSelector('#tandem-control-request', { timeout: 10_000 })
  assert.deepEqual(await lookAt(m.customer, 'customer-question-over-modal', { scope: '#tandem-ui', height: 700 }), [])
  await m.customer.click('#tandem-control-request button:has-text("Allow")', { timeout: 10_000 })
  await m.agent.waitForSelector('#control:has-text("Stop control")', { timeout: 10_000 })
  await m.customer.evaluate(() => document.getElementById('dialog').close())
  await m.customer.click('#tandem-banner button:has-text("Stop control")', { timeout: 10_000 })
  await m.agent.waitForSelector('#control:has-text("Request control")', { timeout: 10_000 })
  // The SDK's own boxes never show in the mirror, wherever they live on the page.
  assert.equal(await m.inMirror((doc) => [...doc.querySelectorAll('.tandem-service')]
    .filter((el) => el.getClientRects().length > 0).length), 0)
  await m.close()
})

test('a framed page of the same site, with the SDK on it too, stays inside the page around it', async () => {
  const m = await mirrored('/framing.html', '#outer')
  let streams = 0
  m.customer.on('websocket', (ws) => { if (ws.url().includes('X-CobrowseSession')) streams += 1 })
  // Loaded once the session is on: its SDK finds the session in the tab's storage.
  await m.customer.evaluate(() => { document.getElementById('inner').src = '/framed.html' })
  await m.customer.frameLocator('#inner').locator('#framed-text').waitFor()
  await until('the frame in the mirror', () => m.inMirror((doc) =>
    doc.getElementById('inner')?.contentDocument?.getElementById('framed-text')?.textContent))
  // Time for a second stream to show itself, then: still the page around the frame.
  await m.customer.waitForTimeout(1500)
  assert.equal(await m.inMirror((doc) => doc.getElementById('outer')?.textContent), 'The page around the frame.')
  assert.equal(streams, 0, 'the frame opened a stream of its own')
  await m.close()
})
