const transform = { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] };

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
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/*.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 60_000,
  maxWorkers: 2,
  // The default reporter, then one plain closing line with the counts (see the reporter).
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.js'],
};
