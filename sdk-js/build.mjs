// Bundles what the server serves under /sdk-js/: the customer SDK as one script (global
// `Tandem`) and as an ES module, Genesys Co-browse's instrumentation on it (genesys.js), the agent
// viewer, the demo page's script, and Glance's visitor and agent APIs (glance.js,
// glance-agent.js). Also lays out
// the npm package @tandem/web in packages/web/dist: the ES module with its dependencies left
// as imports (the private @tandem/core bundled in), its type declarations, and the same
// one-script build as tandem.js.
import { build } from 'esbuild'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { bundleDeclarations } from './declarations.mjs'

const root = new URL('.', import.meta.url).pathname
const out = `${root}dist/`
await mkdir(out, { recursive: true })
const common = { absWorkingDir: root, bundle: true, minify: true, sourcemap: true, target: 'es2020', logLevel: 'warning' }
await build({ ...common, entryPoints: ['packages/web/src/global.ts'], format: 'iife', outfile: `${out}tandem.js` })
// Genesys Co-browse's instrumentation (`_genesys`) on the customer SDK.
await build({ ...common, entryPoints: ['packages/web/src/genesys/entry.ts'], format: 'iife', outfile: `${out}genesys.js` })
await build({ ...common, entryPoints: ['packages/web/src/index.ts'], format: 'esm', outfile: `${out}tandem.mjs` })
await build({ ...common, entryPoints: ['packages/viewer/src/viewer.ts'], format: 'iife', outfile: `${out}viewer.js` })
// The viewer page's first calls, started from its head while viewer.js loads (prefetch.ts).
await build({ ...common, entryPoints: ['packages/viewer/src/boot.ts'], format: 'iife', outfile: `${out}viewer-boot.js` })
await build({ ...common, entryPoints: ['packages/web/src/demo.ts'], format: 'iife', outfile: `${out}demo.js` })
// Glance's APIs on Tandem: the visitor's script (the web SDK with GLANCE.Cobrowse.Visitor) and
// the helpdesk's (GLANCE.Cobrowse.Agent, driving the embedded viewer).
await build({ ...common, entryPoints: ['packages/web/src/glance/global.ts'], format: 'iife', outfile: `${out}glance.js` })
await build({ ...common, entryPoints: ['packages/agent/src/glance/global.ts'], format: 'iife', outfile: `${out}glance-agent.js` })
// Not served: the recorder as the SDK configures it, for bench/recorder.mjs.
await build({ ...common, entryPoints: ['bench/recorder-entry.ts'], format: 'iife', outfile: `${out}bench-recorder.js` })
// The viewer's stylesheet: the design system's tokens and components, rrweb's replayer styles,
// then the viewer's own.
const css = await Promise.all(['packages/design/tokens.css', 'packages/design/components.css',
  'node_modules/@rrweb/replay/dist/style.css', 'packages/viewer/src/viewer.css'].map((f) => readFile(`${root}${f}`, 'utf8')))
await writeFile(`${out}viewer.css`, css.join('\n'))

// The package @tandem/web. Its dependencies stay dependencies: the application's bundler
// resolves them (and shares them with the rest of the application).
const web = `${root}packages/web/`
const pkg = JSON.parse(await readFile(`${web}package.json`, 'utf8'))
await rm(`${web}dist`, { recursive: true, force: true })
await build({
  ...common,
  entryPoints: ['packages/web/src/index.ts'],
  format: 'esm',
  minify: false,
  external: Object.keys(pkg.dependencies ?? {}),
  outfile: `${web}dist/index.js`
})
await copyFile(`${out}tandem.js`, `${web}dist/tandem.js`)
await copyFile(`${out}tandem.js.map`, `${web}dist/tandem.js.map`)
// Its declarations in one file, with what it uses of the private @tandem/core inlined.
await bundleDeclarations({
  entry: `${web}src/index.ts`,
  out: `${web}dist/index.d.ts`,
  tsconfig: `${web}tsconfig.build.json`,
  external: Object.keys(pkg.dependencies ?? {})
})
