// @tandem/agent as an integrator gets it: `npm pack` of packages/agent, installed with its
// dependencies from the registry into an empty project, then loaded from Node as an ES module and
// with require(), and type-checked with TypeScript as ES module and CommonJS consumers. Run after
// the build (npm run --prefix sdk-js build:agent):
//
//   node --test sdk-js/e2e/pack-agent.test.mjs
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { npmEnv, ok, pack, run } from './pack-helpers.mjs'

const sdk = new URL('..', import.meta.url).pathname
const agent = join(sdk, 'packages/agent')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

let tmp // the temporary directory: the tarball and the project
let app // the project that installed the tarball (an ES module project)
let cjs // app/cjs: a CommonJS part of the same project ("type": "commonjs")
let tarball // its path
let installed // node_modules/@tandem/agent in the project

before(async () => {
  for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
    assert.ok(existsSync(join(agent, file)), `packages/agent/${file} is missing: run npm run --prefix sdk-js build:agent first`)
  }
  tmp = await mkdtemp(join(tmpdir(), 'tandem-pack-agent-'))
  tarball = await pack(agent, tmp)

  app = join(tmp, 'app')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'tandem-pack-agent-check', private: true, type: 'module' }))
  ok(await run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env: npmEnv }), 'npm install of the tarball')
  installed = join(app, 'node_modules/@tandem/agent')
  cjs = join(app, 'cjs')
  await mkdir(cjs)
  await writeFile(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }))
})

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

test('the tarball holds dist/ and package.json, nothing from the sources', async () => {
  const listing = ok(await run('tar', ['-tzf', tarball]), 'tar -tzf')
  const files = listing.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''))
  for (const want of ['package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
    assert.ok(files.includes(want), `${want} is not in the tarball: ${files.join(', ')}`)
  }
  // npm always adds README and LICENSE files; anything else must come from dist/.
  const unwanted = files.filter((f) => f !== 'package.json' && !f.startsWith('dist/') && !/^(README|LICEN[CS]E)(\.md)?$/i.test(f))
  assert.deepEqual(unwanted, [], 'files outside dist/ in the tarball (sources, tests, configuration)')
  const inDist = files.filter((f) => /(^|\/)(src|e2e|tests?|test-node|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$|\.[cm]?ts$(?<!\.d\.[cm]?ts)/.test(f))
  assert.deepEqual(inDist, [], 'sources or tests under dist/')

  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'))
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}).sort(), ['cbor-x'])
  // Both builds leave cbor-x to the application (and its bundler): they import it.
  assert.match(await readFile(join(installed, 'dist/index.js'), 'utf8'), /from ["']cbor-x["']/,
    'dist/index.js bundles cbor-x instead of importing it')
  assert.match(await readFile(join(installed, 'dist/index.cjs'), 'utf8'), /require\(["']cbor-x["']\)/,
    'dist/index.cjs bundles cbor-x instead of requiring it')
})

test('Node imports the ES module without a DOM', async () => {
  // No window or document here: a module that touched them while loading would throw.
  await writeFile(join(app, 'check.mjs'), `
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import TandemAPI, { CobrowseAPI, APIError, TokenExpiredError, parseStartMessage, RemoteContext, Session, Device, VERSION } from '@tandem/agent'
assert.equal(typeof window, 'undefined')
assert.equal(typeof TandemAPI, 'function', 'the default export')
assert.equal(TandemAPI, CobrowseAPI, 'CobrowseAPI is TandemAPI')
for (const [name, value] of Object.entries({ APIError, TokenExpiredError, RemoteContext, Session, Device })) {
  assert.match(Function.prototype.toString.call(value), /^class\\b/, name + ' is a class')
}
const manifest = JSON.parse(readFileSync(new URL(import.meta.resolve('@tandem/agent/package.json'))))
assert.equal(VERSION, manifest.version, 'VERSION')

const tandem = new TandemAPI('t', { api: 'http://127.0.0.1:9/', retries: 0, timeout: 5000 })
assert.ok(tandem instanceof CobrowseAPI)
assert.equal(tandem.api, 'http://127.0.0.1:9')
assert.equal(tandem.token, 't')
const methods = {
  sessions: ['list', 'get', 'create'],
  devices: ['list', 'get'],
  users: ['current', 'get'],
  accounts: ['list'],
  policies: ['current'],
  regions: ['closest']
}
for (const [resource, names] of Object.entries(methods)) {
  assert.equal(typeof tandem[resource], 'object', resource)
  for (const name of names) assert.equal(typeof tandem[resource][name], 'function', resource + '.' + name)
}
assert.equal(typeof tandem.on, 'function', 'on')
assert.equal(typeof tandem.attachContext, 'function', 'attachContext')
await assert.rejects(tandem.attachContext({}), Error, 'attachContext outside a browser')

const error = new APIError('missing', { status: 404, id: 'not_found' })
assert.ok(error instanceof Error && error.status === 404 && error.id === 'not_found')
const expired = new TokenExpiredError()
assert.ok(expired instanceof APIError && expired.status === 401 && expired.id === 'token_expired')

assert.equal(parseStartMessage('{start:123456789}'), '123456789')
assert.equal(parseStartMessage('hello'), null)
assert.equal(parseStartMessage('{start:12345}'), null)

// Nothing listens on port 9: the call fails as an APIError without a status.
const failed = await tandem.sessions.list({ filter_user_id: 'u-1' }).then(() => null, (e) => e)
assert.ok(failed instanceof APIError, 'a failed call rejects with an APIError: ' + failed)
assert.equal(failed.status, null)
tandem.disconnect()
console.log('imported')
`)
  const result = ok(await run(process.execPath, ['check.mjs'], { cwd: app }), 'node check.mjs')
  assert.match(result.stdout, /imported/)
})

test('require() gives the TandemAPI class itself, with the named exports on it', async () => {
  await writeFile(join(cjs, 'check.js'), `
const assert = require('node:assert/strict')
const TandemAPI = require('@tandem/agent')
assert.equal(typeof window, 'undefined')
assert.match(Function.prototype.toString.call(TandemAPI), /^class\\b/, 'require() is a class')
assert.equal(require('@tandem/agent').CobrowseAPI, TandemAPI, 'CobrowseAPI')
assert.equal(TandemAPI.TandemAPI, TandemAPI, 'TandemAPI')
assert.equal(TandemAPI.default, TandemAPI, 'default (for esModuleInterop)')
const { APIError, TokenExpiredError, parseStartMessage, RemoteContext } = require('@tandem/agent')
assert.equal(typeof RemoteContext, 'function', 'RemoteContext')
assert.ok(new TokenExpiredError() instanceof APIError)
assert.equal(parseStartMessage('{start:987654321}'), '987654321')
const tandem = new TandemAPI('t', { api: 'http://127.0.0.1:9' })
assert.ok(tandem instanceof TandemAPI)
for (const resource of ['sessions', 'devices', 'users', 'accounts', 'policies', 'regions']) {
  assert.equal(typeof tandem[resource], 'object', resource)
}
assert.equal(typeof tandem.sessions.list, 'function')
// The ES module is another copy of the package: both must load side by side.
import('@tandem/agent').then((esm) => {
  assert.equal(typeof esm.default, 'function')
  console.log('required')
})
`)
  const result = ok(await run(process.execPath, ['check.js'], { cwd: cjs }), 'node cjs/check.js')
  assert.match(result.stdout, /required/)
})

// Compiles with the types of the installed package; the @ts-expect-error lines fail the
// compilation (TS2578) if the types are missing or `any`. `body` uses the package's names as the
// ES module view exports them; each usage below imports them its own way.
const body = `
export async function integrate (tandem: TandemAPI, iframe: HTMLIFrameElement): Promise<string[]> {
  tandem.on('error', (error: APIError) => { if (error instanceof TokenExpiredError) tandem.token = 'new' })
  const sessions: Session[] = await tandem.sessions.list({ filter_user_id: 'u-1', state: ['active', 'pending'], limit: 10 })
  const session: Session = await tandem.sessions.get('123456')
  session.on('updated', (s: Session) => console.log(s.state, s.custom_data))
  session.on('ended', (s) => console.log(s.ended_reason))
  await session.subscribe()
  await session.update({ custom_data: { ticket: 42 } })
  await session.end()
  const [device]: Device[] = await tandem.devices.list({ filter_user_id: 'u-1' })
  if (device?.connectable && device.online) await device.notify({ session })
  const created: Session = await tandem.sessions.create({ custom_data: { user_id: 'u-1' }, agent: 'me' })
  const code: string | null = created.code
  const state: SessionState = created.state

  const ctx: RemoteContext = await tandem.attachContext(iframe)
  await ctx.setTool('laser')
  await ctx.setColor('#ff0000')
  await ctx.clearAnnotations()
  await ctx.setRemoteControl('requested')
  await ctx.sendMessage('cart', { items: 2 })
  await ctx.navigate({ url: 'https://shop.example/help' })
  await ctx.navigate('back')
  ctx.on('session.loaded', (s: Session) => console.log(s.id))
  ctx.on('session.updated', (s) => console.log(s.remote_control))
  ctx.on('session.metrics.updated', (m) => console.log(m.latency))
  ctx.on('screen.updated', (screen) => console.log(screen.width, screen.height))
  ctx.on('message', ({ name, payload }) => console.log(name, payload))
  ctx.on('navigation', (outcome) => console.log(outcome.status, outcome.reason))
  ctx.on('error', (error) => console.log(error.id, error.status))
  const ended: Session = await ctx.endSession()
  ctx.destroy()

  const token: string | null = parseStartMessage('{start:123456789}')
  const error = new APIError('missing', { status: 404, id: 'not_found' })
  const status: number | null = error.status
  return [code ?? '', state, token ?? '', String(status), ended.id, String(sessions.length)]
}

export function mistakes (tandem: TandemAPI, session: Session, device: Device, ctx: RemoteContext, error: APIError): void {
  // @ts-expect-error a session id is a string
  const id: number = session.id
  // @ts-expect-error the SDK makes its contexts (attachContext), applications do not
  void new (ctx.constructor as typeof RemoteContext)()
  // @ts-expect-error a session's state is one of its states
  void session.update({ state: 'paused' })
  // @ts-expect-error sessions have no such event
  session.on('deleted', () => {})
  // @ts-expect-error updated listeners get a Session
  session.on('updated', (s: Device) => console.log(s))
  // @ts-expect-error list takes a query object
  void tandem.sessions.list('active')
  // @ts-expect-error notify needs the session
  void device.notify({})
  // @ts-expect-error online is a boolean
  const online: string = device.online
  // @ts-expect-error the tools are laser, drawing and control
  void ctx.setTool('pen')
  // @ts-expect-error navigation is back, forward, refresh or a url
  void ctx.navigate('home')
  // @ts-expect-error message payloads are unknown until checked
  ctx.on('message', ({ payload }) => payload.items)
  // @ts-expect-error the status may be null
  const status: number = error.status
  // @ts-expect-error parseStartMessage returns null for other text
  const token: string = parseStartMessage('hi')
  // @ts-expect-error the token is a string
  tandem.token = 42
  console.log(id, online, status, token)
}
`

const esmUsage = `
import TandemAPI, { CobrowseAPI, APIError, TokenExpiredError, parseStartMessage, RemoteContext, type Session, type Device, type SessionState } from '@tandem/agent'

export const same: typeof TandemAPI = CobrowseAPI
export const tandem: TandemAPI = new TandemAPI('jwt', { api: 'https://tandem.example.com' })
${body}`

// A CommonJS file says \`import X = require()\`: the module is the class, its namespace the names.
const requireUsage = `
import TandemAPI = require('@tandem/agent')
import APIError = TandemAPI.APIError
import TokenExpiredError = TandemAPI.TokenExpiredError
import RemoteContext = TandemAPI.RemoteContext
import parseStartMessage = TandemAPI.parseStartMessage
type Session = TandemAPI.Session
type Device = TandemAPI.Device
type SessionState = TandemAPI.SessionState

export const tandem: TandemAPI = new TandemAPI('jwt', { api: 'https://tandem.example.com' })
export const cobrowse: TandemAPI = new TandemAPI.CobrowseAPI('jwt')
export const viaDefault: TandemAPI = new TandemAPI.default('jwt')
// @ts-expect-error the module is the class, not a namespace object
export const notNamespace: string = TandemAPI.sessions
${body}`

// With esModuleInterop, CommonJS code may also use the ES module syntax.
const interopUsage = `
import TandemAPI, { APIError, TokenExpiredError, parseStartMessage, RemoteContext, type Session, type Device, type SessionState } from '@tandem/agent'

export const tandem: TandemAPI = new TandemAPI('jwt', { api: 'https://tandem.example.com' })
${body}`

const projects = [
  { name: 'ESM, moduleResolution bundler', dir: () => app, module: 'esnext', moduleResolution: 'bundler', files: { 'usage.ts': esmUsage } },
  { name: 'ESM, moduleResolution node16', dir: () => app, module: 'node16', moduleResolution: 'node16', files: { 'usage.ts': esmUsage } },
  {
    name: 'CommonJS, module node16 ("type": "commonjs")',
    dir: () => cjs,
    module: 'node16',
    moduleResolution: 'node16',
    files: { 'usage-require.ts': requireUsage, 'usage-interop.ts': interopUsage }
  },
  { name: 'CommonJS, module commonjs', dir: () => cjs, module: 'commonjs', moduleResolution: 'node10', files: { 'usage-interop.ts': interopUsage } }
]

for (const project of projects) {
  test(`TypeScript checks a typed usage (${project.name})`, async () => {
    const dir = project.dir()
    for (const [file, text] of Object.entries(project.files)) await writeFile(join(dir, file), text)
    const config = `tsconfig.${project.module}-${project.moduleResolution}.json`
    await writeFile(join(dir, config), JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: project.module,
        moduleResolution: project.moduleResolution,
        lib: ['dom', 'es2022'],
        strict: true,
        esModuleInterop: true,
        noEmit: true,
        skipLibCheck: false,
        types: []
      },
      files: Object.keys(project.files)
    }))
    ok(await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir }), `tsc -p ${config}`)
  })
}
