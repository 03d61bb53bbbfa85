// Writes src/openapi.d.ts, the TypeScript types of the REST API, from the server's OpenAPI document
// (api/openapi.json, which the server's code produces). With --check it writes nothing and fails
// when the committed file differs from a fresh generation: run `npm run gen:types` and commit.
import { readFile, writeFile } from 'node:fs/promises'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'

const source = new URL('../../../../api/openapi.json', import.meta.url)
const target = new URL('../src/openapi.d.ts', import.meta.url)
const check = process.argv.includes('--check')

const header = `${COMMENT_HEADER}// Generated from api/openapi.json by \`npm run gen:types\` (sdk-js); \`npm run check:types\` keeps it current.\n\n`
const fresh = header + astToString(await openapiTS(source, { silent: true }))

if (!check) {
  await writeFile(target, fresh)
} else {
  const committed = await readFile(target, 'utf8').catch(() => '')
  if (committed !== fresh) {
    console.error('packages/core/src/openapi.d.ts is not what api/openapi.json generates: run `npm run --prefix sdk-js gen:types` and commit it')
    process.exit(1)
  }
  console.log('packages/core/src/openapi.d.ts matches api/openapi.json')
}
