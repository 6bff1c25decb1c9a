import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const vendorSdks = ['bullmq', 'ioredis', '@aws-sdk/*', 'prom-client'];
// A package is used through its entry points (package.json "exports"), never its files.
const deepImports = {
  regex: '^@fedsim/[^/]+/[^/]+/',
  message: "import a package's entry point (e.g. '@fedsim/fl/algorithms'), not a file inside it",
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'runs/**', '.fedsim/**', 'libs/fl/assembly/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deepImports] }] },
  },
  {
    // Import cycles (type-only ones too) make module order matter and hide layering mistakes.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['libs/*/tsconfig.json', 'apps/*/tsconfig.json', 'test/tsconfig.json'],
          noWarnOnMultipleProjects: true,
          conditionNames: ['fedsim-source', 'types', 'import', 'default'],
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // CommonJS entry points (the native addon's loader and build script).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // libs/fl is pure FL logic: no queues, storage, network or file I/O.
    files: ['libs/fl/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          deepImports,
          { group: [...vendorSdks, '@fedsim/runtime', '@fedsim/runtime/*'], message: 'libs/fl is pure FL logic; I/O lives in libs/runtime adapters.' },
          { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:net', 'node:http', 'node:https', 'node:child_process'], message: 'libs/fl does no I/O; pass bytes in from libs/runtime.' },
        ],
      }],
    },
  },
  {
    // Only adapter files talk to vendor SDKs; the engine sees ports.
    files: ['libs/runtime/src/**/*.ts'],
    ignores: ['libs/runtime/src/adapters/**', 'libs/runtime/src/observability/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [deepImports, { group: vendorSdks, message: 'import vendor SDKs only in libs/runtime/src/adapters (or observability for prom-client).' }],
      }],
    },
  },
);
