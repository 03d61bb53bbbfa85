// Bundles what the server serves under /sdk-js/: the customer SDK as one script (global
// `Tandem`) and as an ES module, the agent viewer, and the demo page's script.
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'

const out = new URL('./dist/', import.meta.url).pathname
await mkdir(out, { recursive: true })
const common = { bundle: true, minify: true, sourcemap: true, target: 'es2020', logLevel: 'warning' }
await build({ ...common, entryPoints: ['packages/web/src/global.ts'], format: 'iife', outfile: `${out}tandem.js` })
await build({ ...common, entryPoints: ['packages/web/src/index.ts'], format: 'esm', outfile: `${out}tandem.mjs` })
await build({ ...common, entryPoints: ['packages/viewer/src/viewer.ts'], format: 'iife', outfile: `${out}viewer.js` })
await build({ ...common, entryPoints: ['packages/web/src/demo.ts'], format: 'iife', outfile: `${out}demo.js` })
// Not served: the recorder as the SDK configures it, for bench/recorder.mjs.
await build({ ...common, entryPoints: ['bench/recorder-entry.ts'], format: 'iife', outfile: `${out}bench-recorder.js` })
await copyFile(new URL('./node_modules/@rrweb/replay/dist/style.css', import.meta.url), `${out}viewer.css`)
