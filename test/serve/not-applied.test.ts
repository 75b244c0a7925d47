/**
 * A key whose policy was never applied (a newcomer who skipped `apply`): denied as
 * policy-not-applied, recorded in the log the files name (where `logs` looks), and nothing runs.
 * In-process, the real forced-command path.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

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
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-not-applied-'));
  savedEnv = process.env;
  process.env = {
    PATH: '/usr/bin:/bin',
    SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${join(dir, 'marker')}`,
    SSH_CONNECTION: '192.0.2.10 40000 192.0.2.1 22',
  };
  told.length = 0;
});
afterEach(() => {
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

const decisions = (audit: string) =>
  readFileSync(audit, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.event === 'decision');

describe('a policy never applied', () => {
  it('denies as policy-not-applied, in the log the files name, and runs nothing; once applied, the same request runs', async () => {
    const audit = join(dir, 'audit.jsonl');
    const marker = join(dir, 'marker');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1\naudit: { file: ${audit} }\nidentities:\n  t:\n    rules:\n      - { name: touch, exec: { command: ["/usr/bin/touch", "${marker}"] } }\n`,
      { mode: 0o600 },
    );
    expect(await runForcedCommand(['--id', 't', '--policy', policy])).toBe(126);
    expect(existsSync(marker)).toBe(false);
    expect(decisions(audit)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'policy-not-applied' })]);
    expect(String(decisions(audit)[0]!.detail)).toMatch(/ssh-dispatch apply/);
    // The control: applied, the same request is allowed (the exec itself is not run in-process here: it would replace the test runner).
    await applyFiles(policy);
    const { loadServed } = await import('../../src/policy/load.js');
    expect(await loadServed(policy, 't')).toMatchObject({ ok: true, version: 1 });
  });
});
