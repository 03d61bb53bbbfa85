// One .d.ts for a published package (@tandem/web, @tandem/agent), with the declarations of the
// private workspace packages it uses (@tandem/core, @tandem/wire) inlined, so that no published
// declaration imports a package the registry does not have. Its dependencies stay imports.
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'

/**
 * @param {object} options
 * @param {string} options.entry the package's entry source, e.g. `packages/agent/src/index.ts`
 * @param {string} options.out where the declaration file goes
 * @param {string} options.tsconfig the tsconfig whose compiler options the declarations follow
 * @param {string[]} options.external the package's dependencies (left as imports)
 */
export async function bundleDeclarations ({ entry, out, tsconfig, external }) {
  const bundle = await rollup({
    input: entry,
    external: (id) => external.some((dep) => id === dep || id.startsWith(`${dep}/`)),
    plugins: [dts({ tsconfig, respectExternal: true })],
    onwarn: (warning) => { throw new Error(`declarations of ${entry}: ${warning.message}`) }
  })
  try {
    await bundle.write({ file: out, format: 'es' })
  } finally {
    await bundle.close()
  }
}
