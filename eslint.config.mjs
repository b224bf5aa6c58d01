import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.temporal/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['scripts/**/*.cjs', '*.js', 'test/support/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        setImmediate: 'readonly',
      },
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not allowed in workflow code.' },
            {
              group: ['fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'worker_threads'],
              message: 'Node built-ins are not allowed in workflow code.',
            },
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'express'],
              message: 'Not usable inside the workflow sandbox.',
            },
            {
              group: ['../activities/*', '../api/*', '../config', '../worker'],
              message: 'Workflows may only import types from activities.',
              allowTypeImports: true,
            },
            {
              group: [
                'zod',
                '../shared/agent-type',
                '../shared/plan',
                '../shared/plan-check',
                '../shared/registry',
                '../shared/settings',
                '../shared/simulate',
                '../shared/task',
              ],
              message:
                'These modules build zod schemas, which costs every workflow start milliseconds: import types only, ' +
                'and values through ./lazy-schemas.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
