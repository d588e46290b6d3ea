// Lint: typescript-eslint's type-aware rules (floating promises and friends) plus the import
// boundaries of ARCHITECTURE.md: domain/ and media/ never reach for HTTP, SQL or AWS SDKs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbiddenInCore = {
  patterns: [
    { group: ['node:http', 'node:https', 'http', 'https', 'pg', 'better-sqlite3', '@aws-sdk/*', 'pino'], message: 'domain/ and media/ stay free of HTTP, SQL, SDKs and logging: use a port.' },
    { group: ['**/api/**', '**/storage/**', '**/dataplane/**', '**/app.js', '**/config/**'], message: 'domain/ and media/ must not import outer layers.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'src/api/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  { files: ['src/domain/**/*.ts', 'src/media/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbiddenInCore] } },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
