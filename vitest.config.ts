import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-bundle.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // End-to-end files start their own sshd; a few at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
