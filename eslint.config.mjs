// ESLint flat config with type-aware rules (typescript-eslint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.scratch*',
      'test-results/**',
      'eslint.config.mjs',
      'vitest.config.mts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Settings are read once, in shared/config.ts (loadConfig).',
        },
      ],
    },
  },
  {
    // Wiring and local tooling may read the environment; shared/ may not.
    files: ['functions/services.ts', 'dev/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/functions/**', '**/dev/**'], message: 'shared/ never imports functions/ or dev/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['shared/upstream/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/store/**', '**/secrets', '**/poller/**', '**/api/**'],
              message: 'upstream/ knows nothing of tables or secrets.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['shared/store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/upstream/**', '**/poller/**', '**/api/**'],
              message: 'store/ never imports upstream/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
