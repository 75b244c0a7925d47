import { defineConfig } from 'vitest/config';

// Two projects. `npm test` (vitest run) runs both: first the unit tables, then the end-to-end
// files. `npm run test:unit` runs the unit project alone, in seconds.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every core (vitest's default leaves one free: a single worker on a 2-core machine). The
    // e2e project takes one of them at a time.
    maxWorkers: '100%',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          // Pure tables and temp-dir fixtures: files run in parallel. None needs dist/, so no
          // bundle build here (test/build-bundle.ts is the e2e project's globalSetup).
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // The end-to-end tests run what ships: the bundle, built fresh before any of them starts.
          globalSetup: ['test/build-bundle.ts'],
          // One file at a time, and only after the unit project: end-to-end files start sshds,
          // rsyncs and hundreds of connections, and on a 2-core machine one file's load made
          // another's timing-sensitive steps time out.
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
