// Tandem's recorder (packages/web/src/recorder) against stock @rrweb/record, in Chromium: each
// page is recorded with ours (its full snapshot in slices, then changes to the page), then with
// stock rrweb (a full snapshot of the page as it ended up); both recordings are replayed with
// @rrweb/replay and the replayed documents must be the same, markup and stylesheet rules.
// - every page of the real-page corpus (tests/corpus/pages.json), changed after the snapshot;
// - a page that changes on every frame and every task while the snapshot is being taken;
// - shadow roots, adopted and constructed stylesheets, rules in @media, a frame, form fields;
// - redacted regions: nothing in them, before or after a change, is in any event.
//
//   TANDEM_CORPUS=tests/corpus/pages node --test sdk-js/e2e/recorder.test.mjs   (after `make sdk`)
//
// The Rust test api/tests/it/fidelity.rs runs this file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { environment, useBrowser } from './helpers.mjs'
import { corpusPages, offline, serveSite } from './corpus.mjs'

const env = environment(['TANDEM_CORPUS'])
const browser = useBrowser()
const BUNDLE = new URL('../dist/bench-recorder.js', import.meta.url).pathname

/** Where two replayed documents first differ, with some context. */
function firstDifference (a, b) {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return `at character ${i} of ${a.length} / ${b.length}:\n  ours:  …${a.slice(Math.max(0, i - 150), i + 150)}…\n  stock: …${b.slice(Math.max(0, i - 150), i + 150)}…`
}

/**
 * Records the page open in `tab` with ours while `during` (a function run in the page) changes it,
 * then `after` (run in the page once our snapshot was sent), then with stock rrweb, and replays
 * both in the same tab (a recording can be tens of MB). Returns both replayed documents, what our
 * snapshot cost, the types of our events ([type, source]), where ours' clock first goes back
 * (null: nowhere) and, with `json`, ours as JSON.
 */
async function recordBoth (tab, { redaction = '', during = null, after = null, json = false } = {}) {
  await tab.addScriptTag({ path: BUNDLE })
  return tab.evaluate(async ({ redaction, during, after, json }) => {
    const run = (source) => source && (0, eval)(`(${source})`)()
    // Copies: the replayer adds to the events it is given.
    const copy = (list) => (e) => list.push(JSON.parse(JSON.stringify(e)))
    const ours = []
    const stopDuring = run(during)
    const recording = window.benchRecord('tandem', copy(ours), redaction)
    await recording.done
    const cost = recording.cost()
    const duringStats = await stopDuring?.()
    await run(after)
    // Changes are sent once their MutationObserver batch is delivered.
    await new Promise((resolve) => setTimeout(resolve, 100))
    recording.stop()
    const stock = []
    const reference = window.benchRecord('stock', copy(stock), redaction)
    await reference.done
    // Stock rrweb sends same-origin frames' documents a task after its snapshot.
    await new Promise((resolve) => setTimeout(resolve, 100))
    reference.stop()
    const types = ours.map((e) => [e.type, e.data?.source ?? null])
    // Where ours' clock goes back (a replayer plays events in time order).
    const back = ours.findIndex((e, i) => i > 0 && e.timestamp < ours[i - 1].timestamp)
    const kind = (e) => `type ${e.type}${e.data?.source === undefined ? '' : ` source ${e.data.source}`}`
    const backwards = back < 0
      ? null
      : `event ${back} of ${ours.length} (${kind(ours[back])}) is ${ours[back - 1].timestamp - ours[back].timestamp} ms before the one before it (${kind(ours[back - 1])})`
    const oursJson = json ? JSON.stringify(ours) : null
    const into = () => document.body.appendChild(document.createElement('div'))
    const replayedOurs = await window.benchReplay(ours, into())
    const replayedStock = await window.benchReplay(stock, into())
    return { replayedOurs, replayedStock, cost, duringStats, types, backwards, oursJson }
  }, { redaction, during: during?.toString() ?? null, after: after?.toString() ?? null, json })
}

/**
 * Asserts the two replayed documents are the same (`differences`: what each replay is allowed to
 * have that the other has not, removed from both first).
 */
function assertSameReplay ({ replayedOurs: a, replayedStock: b, backwards }, name, differences = []) {
  assert.equal(backwards, null, `${name}: ours' events go back in time`)
  assert.ok(b.length > 200, `${name}: stock's replay is empty`)
  const [x, y] = [a, b].map((r) => differences.reduce((text, re) => text.replace(re, ''), r))
  assert.ok(x === y, `${name}: the replays differ ${firstDifference(x, y)}`)
}

const hasMutation = (types, after = -1) => types.some(([type, source], i) => i > after && type === 3 && source === 0)

/** Changes to any page after the snapshot: adds, a move, a removal, attributes, text, a rule. */
function changeThePage () {
  const body = document.body
  const added = document.createElement('div')
  added.id = 'rec-added'
  added.innerHTML = '<p title="new">added <b>text</b></p><ul><li>one</li><li>two</li></ul><input value="typed">'
  body.insertBefore(added, body.firstChild)
  const els = Array.from(body.querySelectorAll('p, li, td, dt, dd, a, span, h2, h3')).filter((e) => !added.contains(e))
  els[3]?.setAttribute('data-changed', 'yes')
  els[4]?.setAttribute('class', 'changed-class')
  els[5]?.remove()
  const [moved, before] = [els[7], els[12]]
  if (moved && before && !moved.contains(before)) before.parentNode.insertBefore(moved, before)
  const texts = document.createTreeWalker(body, NodeFilter.SHOW_TEXT)
  let t = null
  for (let i = 0; i < 30 && texts.nextNode(); i++) t = texts.currentNode
  if (t) t.data = 'changed text'
  const style = document.createElement('style')
  document.head.appendChild(style)
  style.sheet.insertRule('#rec-added { color: green }', 0)
  return new Promise((resolve) => setTimeout(() => {
    // A second batch: the added subtree changes, and part of it goes.
    added.querySelector('li').textContent = 'one, changed'
    added.querySelector('ul').appendChild(document.createElement('li')).append('three')
    added.querySelector('p').remove()
    style.sheet.insertRule('#rec-added li { margin: 2px }', 1)
    resolve()
  }, 20))
}

for (const page of env ? corpusPages() : []) {
  test(`${page.name}: the replay of ours is the replay of stock rrweb`, async () => {
    const site = await serveSite(env.TANDEM_CORPUS, page)
    const context = await browser().newContext({ viewport: { width: 1024, height: 768 } })
    try {
      await offline(context)
      const tab = await context.newPage()
      // Frames a script adds (reveal.js) load before either recorder starts.
      await tab.goto(site.url, { waitUntil: 'networkidle' })
      const recorded = await recordBoth(tab, { after: changeThePage })
      assert.ok(hasMutation(recorded.types), `${page.name}: no Mutation event from ours`)
      assertSameReplay(recorded, page.name)
    } finally {
      await context.close()
      await site.close()
    }
  })
}

/** A page of about `n` nodes: sections of lists, paragraphs, inputs and links. */
function bigPage (sections) {
  let html = '<!doctype html><html><head><title>changing</title><style>.x { color: teal }</style></head><body>'
  for (let s = 0; s < sections; s++) {
    html += `<section class="s${s}" data-i="${s}"><h2>Section ${s}</h2><ul>`
    for (let i = 0; i < 12; i++) html += `<li><a href="/p/${s}/${i}" title="item ${i}">Item ${s}.${i}</a></li>`
    html += `</ul><p>Paragraph ${s} with <b>bold</b> and <i>italic</i> text.</p><input name="q${s}" value="x${s}"></section>`
  }
  return html + '</body></html>'
}

/**
 * Runs in the page: changes it on every animation frame and in a chain of tasks (adds, removals,
 * moves, attributes, text, at random places, seeded, and a stylesheet rule), until the returned
 * function is called, which resolves to how many changes were made.
 */
function changeAllTheTime () {
  let seed = 7
  const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const all = document.body.getElementsByTagName('*')
  const sheet = document.querySelector('style').sheet
  let changes = 0
  let stopped = false
  const change = () => {
    for (let k = 0; k < 6; k++) {
      const el = all[random(all.length)]
      const other = all[random(all.length)]
      if (!el) continue
      switch (random(7)) {
        case 0: el.appendChild(document.createElement('span')).append(`new ${changes}`); break
        case 1: if (el !== document.body && el.parentNode) el.remove(); break
        case 2: if (other && !el.contains(other) && other.parentNode) el.insertBefore(other, el.firstChild); break
        case 3: el.setAttribute('data-n', String(changes)); break
        case 4: { const t = el.firstChild; if (t?.nodeType === 3) t.data = `text ${changes}`; break }
        case 5: el.insertAdjacentHTML('afterend', `<div class="x">block ${changes}<em>!</em></div>`); break
        case 6: if (other?.parentNode && !other.contains(el)) other.parentNode.insertBefore(el, other.nextSibling); break
      }
      changes++
    }
    // And a rule in the page's stylesheet (which the walk reads first, in the head).
    sheet.insertRule(`.r${changes} { outline: 1px solid teal }`, sheet.cssRules.length)
  }
  const frame = () => { if (!stopped) { change(); requestAnimationFrame(frame) } }
  const task = () => { if (!stopped) { change(); setTimeout(task, 0) } }
  requestAnimationFrame(frame)
  setTimeout(task, 0)
  return () => new Promise((resolve) => {
    const made = changes
    // A few more frames after the snapshot was sent, then quiet.
    setTimeout(() => { stopped = true; resolve({ during: made, total: changes }) }, 100)
  })
}

test('a page that changes while the snapshot is taken replays as it ended up', async () => {
  const tab = await browser().newPage()
  try {
    await tab.setContent(bigPage(600))
    const recorded = await recordBoth(tab, { during: changeAllTheTime })
    const { cost, duringStats, types } = recorded
    // Unless the snapshot took several slices and the page changed in between, this proves nothing.
    console.log(`# changing page: ${cost.nodes} nodes in ${cost.slices.length} slices over ${Math.round(cost.elapsed)} ms, ${duringStats.during} changes meanwhile`)
    assert.ok(cost.slices.length >= 4, `the snapshot took ${cost.slices.length} slices`)
    assert.ok(duringStats.during >= 20, `only ${duringStats.during} changes while the snapshot was taken`)
    const full = types.findIndex(([type]) => type === 2)
    assert.ok(full >= 0 && hasMutation(types, full), 'no Mutation event after the snapshot')
    assertSameReplay(recorded, 'changing page')
  } finally {
    await tab.close()
  }
})

test('shadow roots, adopted and constructed stylesheets, rules in @media, frames and form fields replay as stock', async () => {
  const tab = await browser().newPage()
  try {
    await tab.setContent(`<!doctype html><html><head>
<style id="s1">p { color: navy } @media (min-width: 10px) { .m { color: olive } }</style></head><body>
<!-- a comment -->
<div id="host"></div><div id="late"></div>
<x-card id="card1"></x-card>
<p class="m" style="background: url('/bg.png')">styled</p>
<svg width="40" height="40"><circle cx="20" cy="20" r="10"></circle></svg>
<form><input id="pw" type="password" value="hunter2"><textarea id="ta">first</textarea>
<select id="sel"><option>a</option><option selected>b</option></select></form>
<iframe id="frame" srcdoc="<p id=inner>inside the frame</p><ul id=list><li>one</li></ul>"></iframe>
<script>
  customElements.define('x-card', class extends HTMLElement {
    connectedCallback () {
      if (this.shadowRoot) return
      const root = this.attachShadow({ mode: 'open' })
      root.innerHTML = '<b>card</b> <slot></slot>'
    }
  })
  const host = document.getElementById('host').attachShadow({ mode: 'open' })
  host.innerHTML = '<span class="in">in the shadow</span>'
  const sheet = new CSSStyleSheet()
  sheet.replaceSync('.in { color: maroon }')
  host.adoptedStyleSheets = [sheet]
  const page = new CSSStyleSheet()
  page.replaceSync('body { margin: 3px }')
  document.adoptedStyleSheets = [page]
  window.pageSheet = page
</script></body></html>`)
    await tab.waitForFunction(() => document.getElementById('frame').contentDocument?.getElementById('list'))
    const recorded = await recordBoth(tab, {
      json: true,
      after: async () => {
        // The frame's document is sent once it is serialised (a task after the snapshot).
        await new Promise((resolve) => setTimeout(resolve, 50))
        const frame = document.getElementById('frame').contentDocument
        frame.getElementById('list').appendChild(frame.createElement('li')).append('two')
        frame.getElementById('inner').setAttribute('title', 'changed in the frame')
        const field = frame.body.appendChild(frame.createElement('input'))
        await new Promise((resolve) => setTimeout(resolve, 20))
        field.value = 'typed in the frame'
        field.dispatchEvent(new Event('input', { bubbles: true }))
        document.getElementById('host').shadowRoot.appendChild(document.createElement('i')).append('added in the shadow')
        const late = document.getElementById('late').attachShadow({ mode: 'open' })
        late.innerHTML = '<em>attached after the snapshot</em>'
        document.body.appendChild(document.createElement('x-card')).append('a new card')
        const sheet = document.getElementById('s1').sheet
        sheet.cssRules[1].insertRule('.m b { color: teal }', 0)
        sheet.deleteRule(0)
        window.pageSheet.insertRule('h1 { margin: 0 }', 0)
        const extra = new CSSStyleSheet()
        extra.replaceSync('.late { color: gray }')
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, extra]
        document.getElementById('pw').setAttribute('type', 'text')
        document.getElementById('ta').append(' and more')
        document.querySelector('.m').setAttribute('style', "background: url('/other.png'); color: red")
        document.body.appendChild(document.createComment('another comment'))
        document.body.insertAdjacentHTML('beforeend', '<svg><rect width="5" height="5"></rect></svg>')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })
    assert.ok(!recorded.oursJson.includes('hunter2'), 'the password field turned text is still masked')
    assert.ok(recorded.types.some(([type, source]) => type === 3 && source === 15), 'no AdoptedStyleSheet event from ours')
    assert.ok(recorded.oursJson.includes('"text":"typed in the frame"'), 'no Input event from the frame')
    // Stock rrweb sends a shadow root's adopted sheets before its FullSnapshot event, where the
    // replayer loses them; ours sends them after it, and the replay has them. What was typed is
    // an Input event in ours (the replayer sets the field's value, not its attribute), and an
    // attribute in stock's snapshot taken afterwards.
    assertSameReplay(recorded, 'features', [/\[shadow-adopted [^\]]*\]/g, / value="typed in the frame"/])
    assert.ok(recorded.replayedOurs.includes('[shadow-adopted .in { color: maroon; }]'), 'the shadow root\'s adopted sheet is in the replay of ours')
  } finally {
    await tab.close()
  }
})

test('nothing of a redacted region is in any event, before or after it changes', async () => {
  const tab = await browser().newPage()
  try {
    const secret = (n) => `<div class="card"><p title="canary-attr-${n}">canary-text-${n}</p><input value="canary-value-${n}"></div>`
    await tab.setContent('<!doctype html><html><body><h1>Account</h1>' +
      `<section data-tandem-redact id="r1" style="height:300px;overflow:hidden">${secret(1).repeat(200)}</section>` +
      `<section class="vault" id="r2" style="height:300px;overflow:hidden">${secret(2).repeat(200)}<template><p>canary-template</p></template></section>` +
      '<p id="open">open text</p></body></html>')
    const changeSecrets = () => {
      const zones = [document.getElementById('r1'), document.getElementById('r2')]
      let n = 0
      const timer = setInterval(() => {
        for (const zone of zones) {
          zone.querySelector('p').textContent = `canary-changed-${n}`
          zone.querySelector('p').setAttribute('data-x', `canary-attr-changed-${n}`)
          zone.appendChild(document.createElement('div')).append(`canary-added-${n}`)
          zone.setAttribute('data-zone', `canary-zone-${n}`)
        }
        n++
      }, 0)
      return () => new Promise((resolve) => setTimeout(() => { clearInterval(timer); resolve({ during: n }) }, 50))
    }
    const recorded = await recordBoth(tab, {
      json: true,
      redaction: '.vault',
      during: changeSecrets,
      after: () => { document.getElementById('open').textContent = 'open text, changed' }
    })
    const json = recorded.oursJson
    assert.ok(json.includes('open text, changed'), 'the open text and its change were recorded')
    assert.ok(!json.includes('canary'), `a redacted region leaked: …${json.slice(json.indexOf('canary') - 200, json.indexOf('canary') + 100)}…`)
    assertSameReplay(recorded, 'redacted regions')
  } finally {
    await tab.close()
  }
})
