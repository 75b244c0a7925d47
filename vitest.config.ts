import { defineConfig } from 'vitest/config';

// Test files that start real programs (scp, sftp, rsync --help, openssl, getent, groff, npm) or
// build a bundle with esbuild, but no sshd. Listed by name, not by a file-name convention, so that
// a file moves here without being renamed. A unit file that starts to spawn belongs on this list:
// the unit project must stay a few seconds of tables (`npm run test:unit`, at most 10 s).
const SPAWN = [
  'test/act/files/scp-clients.test.ts', // scp against the file server; builds a bundle of it
  'test/act/files/sftp-clients.test.ts', // sftp and node against the file server; builds a bundle
  'test/audit/syslog.test.ts', // openssl (test/test-pki.ts) for TLS, mkfifo
  'test/cli/check.test.ts', // getent
  'test/cli/apply-diff.test.ts', // getent (apply's gate)
  'test/cli/rollback-access.test.ts', // getent (apply's gate)
  'test/cli/hostile.test.ts', // rsync --help, for the host's rsync features
  'test/cli/suggest-home.test.ts', // getent passwd, for the accounts' homes
  'test/deb-scripts.test.ts', // sh (the maintainer scripts), dpkg-deb and dpkg (the package build)
  'test/host/confine-check.test.ts', // rsync --help
  'test/host/kind-findings.test.ts', // rsync --help (main's, from 986f6b6 on)
  'test/host/wildcard-cost.test.ts', // rsync --help
  'test/man.test.ts', // builds the core bundle; runs it, bash, groff and man
  'test/packaging.test.ts', // npm pack
  'test/setup-script.test.ts', // bash scripts/setup.sh, apt-get (in a temp apt root), python3
];

// Three projects, run in this order by `npm test` (vitest run): unit, then spawn, then e2e.
// `npm run test:unit` runs the unit project alone, `npm run test:spawn` the spawn project.
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
          exclude: ['test/e2e/**', ...SPAWN],
          // Pure tables and temp-dir fixtures: files run in parallel. None needs dist/, so no
          // bundle build here (test/build-bundle.ts is the e2e project's globalSetup).
          // Workers are reused from file to file (isolate: false): a fresh one per file made this
          // project cost 21 s of CPU instead of 8 (measured on 2 cores). Each file still gets
          // fresh src/ modules (test/fresh-modules.ts), so module state and vi.mock stay per file;
          // what files share is the process (its environment, umask, listeners), node's builtins
          // and node_modules/.
          isolate: false,
          // test/no-programs.ts fails a test that starts a program: its file belongs on SPAWN.
          setupFiles: ['test/fresh-modules.ts', 'test/no-programs.ts', 'test/no-real-paths.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'spawn',
          include: SPAWN,
          // test/no-real-paths.ts fails a test that changed /var/log/ssh-dispatch or /etc/ssh-dispatch.
          setupFiles: ['test/no-real-paths.ts'],
          // Each file in a fresh worker, vitest's default: these files take a second or more
          // each, so isolation costs them little.
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // The end-to-end tests run what ships: the bundle, built fresh before any of them starts.
          globalSetup: ['test/build-bundle.ts'],
          setupFiles: ['test/no-real-paths.ts'],
          // One file at a time, and only after the unit and spawn projects: end-to-end files start
          // sshds, rsyncs and hundreds of connections, and on a 2-core machine one file's load made
          // another's timing-sensitive steps time out.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
