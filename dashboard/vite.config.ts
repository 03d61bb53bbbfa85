// The dashboard, served by the Tandem server at /dashboard (dashboard/dist). It talks to the
// server only through @tandem/agent, built from source with the app.
import { defineConfig } from 'vitest/config'

const agent = decodeURIComponent(new URL('../sdk-js/packages/agent/src/index.ts', import.meta.url).pathname)
// The design system shared with the viewer and the customer UI.
const design = decodeURIComponent(new URL('../sdk-js/packages/design', import.meta.url).pathname)

export default defineConfig({
  base: '/dashboard/',
  resolve: { alias: { '@tandem/agent': agent, '@tandem/design': design } },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    // `npm run dev` against a local server (make run): the API and the viewer are proxied.
    proxy: Object.fromEntries(['/api', '/sockets', '/session', '/sdk-js', '/code', '/demo'].map((p) => [p, { target: 'http://127.0.0.1:8080', ws: true }]))
  },
  test: { include: ['test/**/*.test.ts'], environment: 'node' }
})
