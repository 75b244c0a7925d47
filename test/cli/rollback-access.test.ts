/**
 * A rollback across a chmod (found in review): the version rolled back to is published with the
 * modes its files had when it was applied, so a rollback to a version applied from 0600 files,
 * after a chmod made them readable by the accounts whose keys serve them, denies those accounts
 * every request. apply says when who may read the version changes; rollback must say it too,
 * rather than "nothing served changes".
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runApply, runRollback } from '../../src/cli/apply.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-rollback-access-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function captured(run: (args: string[]) => Promise<number>, args: string[]) {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await run(args), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

it('says who may read the version changes, as apply does', async () => {
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, 'version: 1\nidentities:\n  a:\n    rules:\n      - { name: t, exec: { command: "true", program: /bin/true } }\n', {
    mode: 0o600,
  });
  expect((await captured(runApply, ['--policy', policy])).code).toBe(0);
  chmodSync(policy, 0o644);
  // The control: apply of the chmod says it.
  const applied = await captured(runApply, ['--policy', policy]);
  expect(applied.stdout).toMatch(/who may read it changed: files 0600 -> 0644/);
  const rolled = await captured(runRollback, ['--policy', policy]);
  expect(rolled.code).toBe(0);
  expect(rolled.stdout).toMatch(/who may read it changed: files 0644 -> 0600/);
  expect(rolled.stdout).not.toMatch(/nothing served changes/);
  expect(statSync(policy).mode & 0o777).toBe(0o644);
});
