// @tandem/web as a customer gets it: `npm pack` of packages/web, installed with its
// dependencies from the registry into an empty project, then imported from Node and type-checked
// with TypeScript. Run after the build (npm run --prefix sdk-js build):
//
//   node --test sdk-js/e2e/pack.test.mjs
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { npmEnv, ok, pack, run } from './pack-helpers.mjs'
import vm from 'node:vm'

const sdk = new URL('..', import.meta.url).pathname
const web = join(sdk, 'packages/web')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

let tmp // the temporary directory: the tarball and the project
let app // the project that installed the tarball
let tarball // its path
let installed // node_modules/@tandem/web in the project

before(async () => {
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/tandem.js']) {
    assert.ok(existsSync(join(web, file)), `packages/web/${file} is missing: run npm run --prefix sdk-js build first`)
  }
  tmp = await mkdtemp(join(tmpdir(), 'tandem-pack-'))
  tarball = await pack(web, tmp)

  app = join(tmp, 'app')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'tandem-pack-check', private: true, type: 'module' }))
  ok(await run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env: npmEnv }), 'npm install of the tarball')
  installed = join(app, 'node_modules/@tandem/web')
})

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

test('the tarball holds the built package and nothing from the sources', async () => {
  const listing = ok(await run('tar', ['-tzf', tarball]), 'tar -tzf')
  const files = listing.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''))
  for (const want of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/tandem.js']) {
    assert.ok(files.includes(want), `${want} is not in the tarball: ${files.join(', ')}`)
  }
  const unwanted = files.filter((f) => /^src\/|(^|\/)(e2e|tests?|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$|^tsconfig|\.ts$(?<!\.d\.ts)/.test(f))
  assert.deepEqual(unwanted, [], 'sources, tests or build configuration in the tarball')

  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'))
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}).sort(), ['@rrweb/record', 'cbor-x', 'rrweb-snapshot'])
  // The ES module leaves its dependencies to the application's bundler: it imports them.
  const esm = await readFile(join(installed, 'dist/index.js'), 'utf8')
  for (const dep of ['@rrweb/record', 'cbor-x', 'rrweb-snapshot']) {
    assert.match(esm, new RegExp(`from ["']${dep}["']`), `dist/index.js bundles ${dep} instead of importing it`)
  }
})

test('@tandem/web/tandem.js is the one-script build that defines window.Tandem', async () => {
  const path = createRequire(join(app, 'index.js')).resolve('@tandem/web/tandem.js')
  const script = await readFile(path, 'utf8')
  assert.equal(script, await readFile(join(sdk, 'dist/tandem.js'), 'utf8'),
    'the package\'s tandem.js differs from the one the server serves (sdk-js/dist/tandem.js)')
  const window = { EventTarget, TextDecoder, TextEncoder }
  window.window = window
  vm.runInNewContext(script, window, { filename: 'tandem.js' })
  assert.equal(typeof window.Tandem?.start, 'function')
  assert.equal(typeof window.Tandem?.ApiError, 'function')
})

test('Node imports the package without a DOM', async () => {
  // No window or document here: a module that touched them while loading would throw.
  await writeFile(join(app, 'check.mjs'), `
import assert from 'node:assert/strict'
import { start, recordOptions, ApiError } from '@tandem/web'
assert.equal(typeof start, 'function', 'start')
assert.equal(typeof recordOptions, 'function', 'recordOptions')
assert.match(Function.prototype.toString.call(ApiError), /^class\\b/, 'ApiError is a class')
const error = new ApiError(404, 'not_found', 'missing')
assert.ok(error instanceof Error && error.status === 404 && error.id === 'not_found')
assert.match(recordOptions('.secret').blockSelector, /\\.secret/)
console.log('imported')
`)
  const result = ok(await run(process.execPath, ['check.mjs'], { cwd: app }), 'node check.mjs')
  assert.match(result.stdout, /imported/)
})

// Compiles with the types of the installed package; the @ts-expect-error lines fail the
// compilation (TS2578) if the types are missing or `any`.
const typedUsage = `
import { start, ApiError, type StartOptions, type MediaAdapter, type SessionResource } from '@tandem/web'

const options: StartOptions = { license: 'key', customData: { plan: 'pro', seats: 3 }, redactionSelectors: ['.card'] }
const adapter: MediaAdapter = {
  async initializeAsync () {},
  isAgentConnected: () => true,
  sendSessionToken (message: string) { console.log(message) }
}

export async function connect (): Promise<string> {
  const tandem = await start(options)
  tandem.addEventListener('session.ended', () => {})
  const session: SessionResource | null = tandem.session
  const deviceId: string = tandem.deviceId
  const token: string = await tandem.startSession(adapter)
  return [deviceId, session?.state, token].join(' ')
}

export const error: Error = new ApiError(401, 'unauthorized', 'no')

// @ts-expect-error the license is required
void start({})
// @ts-expect-error customData is flat
export const nested: StartOptions = { license: 'key', customData: { user: { id: 1 } } }
// @ts-expect-error an adapter says whether an agent is connected
export const partial: MediaAdapter = { async initializeAsync () {}, sendSessionToken () {} }
export async function wrongType (): Promise<number> {
  const tandem = await start(options)
  // @ts-expect-error a device id is a string
  const id: number = tandem.deviceId
  return id
}
`

for (const [module, moduleResolution] of [['esnext', 'bundler'], ['node16', 'node16']]) {
  test(`TypeScript checks a typed usage (moduleResolution ${moduleResolution})`, async () => {
    await writeFile(join(app, 'usage.ts'), typedUsage)
    const config = `tsconfig.${moduleResolution}.json`
    await writeFile(join(app, config), JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module,
        moduleResolution,
        lib: ['dom', 'es2022'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: []
      },
      files: ['usage.ts']
    }))
    ok(await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: app }), `tsc -p ${config}`)
  })
}
