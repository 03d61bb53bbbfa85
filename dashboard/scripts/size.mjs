// Prints the built dashboard's JavaScript and CSS sizes, raw and gzip (npm run build first).
import { readdirSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const dir = new URL('../dist/assets/', import.meta.url)
let js = 0
for (const name of readdirSync(dir)) {
  const bytes = readFileSync(new URL(name, dir))
  const gz = gzipSync(bytes, { level: 9 }).length
  if (name.endsWith('.js')) js += gz
  console.log(`${name}: ${bytes.length} B, ${gz} B gzip`)
}
console.log(`JavaScript, gzip: ${(js / 1024).toFixed(1)} KiB`)
