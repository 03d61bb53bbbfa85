// What every benchmark in Chromium leaves behind besides its printed lines: target/bench/<name>.json
// in the checkout, with each figure's value in every run (and the median, least and greatest), the
// machine's core count, the revision and the time, so that a run can be compared with the last.
// Writing prints that comparison. bench/src/report.rs writes the same shape for the Rust benches.
//
//   const report = new Report('recorder')
//   report.config('nodes', 10000)
//   for (const run of runs) report.add('tandem.longest_task', 'ms', run.longest)
//   report.write()
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The median (mean of the middle two for an even count), least and greatest, or null. */
export function spread (values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const mid = Math.floor(v.length / 2)
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
  return { median, min: v[0], max: v[v.length - 1] }
}

function revision () {
  const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    const rev = git('rev-parse', '--short', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') ? `${rev}-dirty` : rev
  } catch {
    return 'unknown'
  }
}

/** Lines comparing each figure's median in `now` with `last`'s (figures in both). */
export function compare (last, now) {
  const lines = [`against the last run (${last.revision ?? '?'}, ${last.time ?? '?'}):`]
  for (const [name, f] of Object.entries(now.figures ?? {})) {
    const old = last.figures?.[name]?.median
    if (typeof old !== 'number' || typeof f.median !== 'number') continue
    const change = old !== 0 ? `${((f.median - old) / Math.abs(old) * 100 >= 0 ? '+' : '')}${((f.median - old) / Math.abs(old) * 100).toFixed(1)}%` : 'n/a'
    lines.push(`  ${name}: ${old.toFixed(3)} → ${f.median.toFixed(3)} ${f.unit ?? ''} (${change})`)
  }
  return lines.length > 1 ? lines : []
}

export class Report {
  constructor (name) {
    this.name = name
    this.settings = {}
    this.figures = {}
  }

  /** Records how the benchmark ran (sizes, counts), written beside the figures. */
  config (key, value) {
    this.settings[key] = value
  }

  /** Adds one run's value of `figure`, in `unit`. */
  add (figure, unit, value) {
    const f = (this.figures[figure] ??= { unit, values: [] })
    f.values.push(value)
  }

  toJSON () {
    const figures = {}
    let runs = 0
    for (const [name, f] of Object.entries(this.figures)) {
      const s = spread(f.values)
      figures[name] = { unit: f.unit, values: f.values, median: s?.median ?? null, min: s?.min ?? null, max: s?.max ?? null }
      runs = Math.max(runs, f.values.length)
    }
    return {
      bench: this.name,
      revision: revision(),
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      cores: availableParallelism(),
      runs,
      config: this.settings,
      figures
    }
  }

  /** Writes target/bench/<name>.json (or under BENCH_OUT) and returns its path. */
  write () {
    const dir = process.env.BENCH_OUT ?? join(root, 'target', 'bench')
    mkdirSync(dir, { recursive: true })
    const path = join(dir, `${this.name}.json`)
    const now = this.toJSON()
    let last = null
    try {
      last = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      // No earlier run (or an unreadable one): nothing to compare with.
    }
    if (last) for (const line of compare(last, now)) console.log(line)
    writeFileSync(path, JSON.stringify(now, null, 2) + '\n')
    console.log(`figures written to ${path}`)
    return path
  }
}
