// eslint over sdk-js: typescript-eslint's recommended rules for every package's sources and
// tests, with the type-aware rules that catch promises nobody waits for; eslint's recommended
// rules for the build scripts, benchmarks and the Node and browser test suites (.mjs).
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Relative imports name the file they mean (`./api.js`), as Node and the published types need. */
const explicitExtensions = ['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration'].map((node) => ({
  selector: `${node}[source.value=/^\\.\\.?\\u002F/]:not([source.value=/\\.(js|mjs|json)$/])`,
  message: 'Name the file of a relative import with its extension: ./module.js'
}))

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      'packages/agent/docs/',
      'e2e/artifacts/',
      // Generated from api/openapi.json (npm run gen:types).
      'packages/core/src/openapi.d.ts'
    ]
  },
  js.configs.recommended,
  {
    files: ['**/*.mjs'],
    languageOptions: {
      globals: { ...globals.node, ...globals.browser }
    }
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // Wire data (socket events, rrweb events) is `any` until checked, on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', ...explicitExtensions]
    }
  },
  {
    files: ['bench/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['bench/*.ts'] } }
    }
  }
)
