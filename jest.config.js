/**
 * TypeScript, plus `jose`: @a2a-js/sdk's CommonJS build requires it, and it ships only ES modules, which Node 20 loads
 * by require(esm) but Jest's module system cannot; ts-jest compiles its files to CommonJS instead.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { isolatedModules: true }],
  '/node_modules/jose/.+\\.js$': ['ts-jest', { isolatedModules: true, tsconfig: { allowJs: true } }],
};
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];

/**
 * Two projects. `unit`: the pure suites in test/unit/, no Temporal server, no bundle, no dashboard build (`npm run
 * test:unit`, seconds). `integration`: the suites in test/, against one real Temporal dev server that global setup
 * starts, with the workflows bundled once for the run (`npm run test:integration`). `npm test` runs both.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/*.test.ts'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 60_000,
  maxWorkers: 2,
  // The default reporter, then one plain closing line with the counts (see the reporter).
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.js'],
};
