// Builds @tandem/agent into dist/: an ES module (index.js), a CommonJS module (index.cjs) whose
// export is the TandemAPI class itself, type declarations for both (index.d.ts, one file with
// the private @tandem/core's declarations inlined, and an index.d.cts with dist/cjs/ for
// CommonJS), with dependencies left as imports and @tandem/core bundled in; and one script for
// pages without a bundler (tandem-agent.js).
import { build } from 'esbuild'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { bundleDeclarations } from '../../declarations.mjs'

const root = new URL('.', import.meta.url).pathname
const dist = `${root}dist/`
const require = createRequire(import.meta.url)
const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8'))

const version = (await readFile(`${root}src/version.ts`, 'utf8')).match(/VERSION = '([^']+)'/)?.[1]
if (version !== pkg.version) throw new Error(`src/version.ts says ${version}, package.json ${pkg.version}`)

await rm(dist, { recursive: true, force: true })
const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning'
}
await build({ ...common, entryPoints: ['src/index.ts'], format: 'esm', outfile: `${dist}index.js` })
// src/cjs.ts assigns module.exports on purpose (see there).
await build({
  ...common,
  entryPoints: ['src/cjs.ts'],
  format: 'cjs',
  outfile: `${dist}index.cjs`,
  logOverride: { 'commonjs-variable-in-esm': 'silent' }
})

// For a <script> tag (a helpdesk page without a bundler): everything in one file, global
// `TandemAgent` (`new TandemAgent.TandemAPI(token, { api })`).
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  external: [],
  platform: 'browser',
  format: 'iife',
  globalName: 'TandemAgent',
  minify: true,
  outfile: `${dist}tandem-agent.js`
})

await bundleDeclarations({
  entry: `${root}src/index.ts`,
  out: `${dist}index.d.ts`,
  tsconfig: `${root}tsconfig.build.json`,
  external: Object.keys(pkg.dependencies ?? {})
})

// CommonJS types. TypeScript reads dist/*.d.ts as ES module declarations (the package is of type
// "module"), which a CommonJS declaration file may not import; so the declarations are copied to
// dist/cjs/, marked CommonJS, with index.d.ts's `export type` made plain exports so that they can be
// aliased. index.d.cts then says `export =` the class, with every named export merged into it.
await mkdir(`${dist}cjs`, { recursive: true })
await writeFile(`${dist}cjs/package.json`, '{ "type": "commonjs" }\n')
for (const file of (await readdir(dist)).filter((f) => f.endsWith('.d.ts'))) {
  let text = await readFile(`${dist}${file}`, 'utf8')
  if (file === 'index.d.ts') text = text.replace(/^export type (\*|\{)/gm, 'export $1')
  await writeFile(`${dist}cjs/${file}`, text)
}
const ts = require('typescript')
const entry = `${dist}cjs/index.d.ts`
const program = ts.createProgram([entry], { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 })
const checker = program.getTypeChecker()
const names = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)))
  .map((s) => s.getName())
  .filter((name) => name !== 'default')
  .sort()
if (!names.includes('TandemAPI')) throw new Error('index.d.ts does not export TandemAPI')
await writeFile(`${dist}index.d.cts`, [
  '// CommonJS view of the package: require(\'@tandem/agent\') is the TandemAPI class.',
  'import * as agent from \'./cjs/index.js\'',
  '',
  'declare class TandemAPI extends agent.TandemAPI {',
  '  static readonly default: typeof agent.TandemAPI',
  '}',
  'declare namespace TandemAPI {',
  ...names.map((name) => `  export import ${name} = agent.${name}`),
  '}',
  'export = TandemAPI',
  ''
].join('\n'))
