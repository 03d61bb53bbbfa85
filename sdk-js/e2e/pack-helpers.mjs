// Shared by the npm pack suites (pack.test.mjs, pack-agent.test.mjs): running npm and other
// commands, and packing a workspace package into a temporary directory.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * `npm run` hands its own location to child processes (npm_config_prefix and the like); a
 * nested npm would then install into sdk-js instead of the temporary project.
 */
export const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
  !/^npm_config_(prefix|local_prefix|global_prefix|globalconfig|workspaces?|include_workspace_root)$/i.test(k)))

/** Runs a command to completion; never throws, the caller asserts on `code`. */
export function run (cmd, args, options = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, error })
    })
  })
}

export function ok (result, what) {
  assert.equal(result.code, 0,
    `${what} failed (${result.error?.message ?? ''}):\n${result.stdout}\n${result.stderr}`)
  return result
}

/** `npm pack` of the package in `dir` into `tmp/pack`; returns the tarball's path. */
export async function pack (dir, tmp) {
  await mkdir(join(tmp, 'pack'))
  const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', join(tmp, 'pack')],
    { cwd: dir, env: npmEnv }), 'npm pack')
  const [info] = JSON.parse(packed.stdout)
  const tarball = join(tmp, 'pack', info.filename)
  assert.ok(existsSync(tarball), `npm pack reported ${info.filename} but wrote no such file`)
  return tarball
}
