// Lint like Temporal's samples: no floating promises, no Node built-ins or I/O libraries in
// workflow code, type-only imports where possible, no `.only` left in tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'bin/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/workflows/**/*.ts', 'test/workflows/**/*.ts', 'test/replay/changed-workflows.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process'], message: 'Workflow code must be deterministic: no Node built-ins.' },
            { group: ['pino', 'kysely', 'better-sqlite3', 'pg', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'No I/O in workflow code: use an activity.' },
            { group: ['**/store', '**/store/*', '**/logger', '**/config'], message: 'No I/O in workflow code: use an activity.' },
          ],
        },
      ],
    },
  },
  { files: ['src/cli.ts', 'src/cli/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'], rules: { 'no-console': 'off' } },
  { files: ['test/**/*.ts'], rules: { 'no-restricted-syntax': ['error', { selector: "MemberExpression[property.name='only']", message: 'No .only in tests.' }] } },
);
