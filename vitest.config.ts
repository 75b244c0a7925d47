import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-bundle.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // One file at a time: end-to-end files start sshds, rsyncs and hundreds of connections, and
    // on a 2-core machine one file's load made another's timing-sensitive steps time out.
    maxWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
