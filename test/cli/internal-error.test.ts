/**
 * An unexpected exception while deciding (a bug, an fs call nobody guarded) must still end in a
 * denial that is recorded, never in a run: serve/decide-connection.ts catches it as internal-error.
 * The exception is forced by replacing decideRulesOnHost with one that throws; the rest is the real
 * forced-command path, in-process.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/host/decide-on-host.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/host/decide-on-host.js')>()),
  decideRulesOnHost: () => {
    throw new Error('a bug, forced by the test');
  },
}));

// What the client is told, caught where serve/ writes it (to fd 2 itself, not process.stderr).
const { told } = vi.hoisted(() => ({ told: [] as string[] }));
vi.mock('../../src/serve/output.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/serve/output.js')>()),
  writeStderr: (text: string) => {
    told.push(text);
  },
}));

const { runForcedCommand } = await import('../../src/serve/forced-command.js');
const { applyFiles } = await import('../policy/apply-fixture.js');

let dir: string;
let savedEnv: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-internal-'));
  savedEnv = process.env;
  // The environment sshd gives a forced command, not the test runner's (NODE_ENV and the like
  // would be refused as unsafe-environment before anything is decided).
  process.env = {
    PATH: '/usr/bin:/bin',
    SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${join(dir, 'marker')}`,
    SSH_CONNECTION: '192.0.2.10 40000 192.0.2.1 22',
  };
});
afterEach(() => {
  process.env = savedEnv;
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('an exception while deciding', () => {
  it('is a denial recorded as internal-error with its message, and nothing runs', async () => {
    const audit = join(dir, 'audit.jsonl');
    const marker = join(dir, 'marker');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1\naudit: { file: ${audit} }\nidentities:\n  t:\n    rules:\n      - { name: touch, exec: { command: ["/usr/bin/touch", "${marker}"] } }\n`,
      { mode: 0o600 },
    );
    await applyFiles(policy);
    const code = await runForcedCommand(['--id', 't', '--policy', policy]);
    expect(code).toBe(126);
    expect(told).toEqual([
      expect.stringMatching(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/),
    ]);
    expect(existsSync(marker)).toBe(false);
    const records = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({
        event: 'decision',
        id: 't',
        decision: 'deny',
        reason: 'internal-error',
        detail: 'a bug, forced by the test',
      }),
    ]);
  });
});
