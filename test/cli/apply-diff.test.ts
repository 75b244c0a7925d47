/**
 * What apply says changed, when the version served before no longer loads with this build (an
 * upgrade not followed by reapply, the fix then applied): found in review, it said "first
 * version" (and history kept saying so) though it was the second.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runApply } from '../../src/cli/apply.js';
import { stateDir } from '../policy/apply-fixture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-apply-diff-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function apply(policy: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await runApply(['--policy', policy]), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

const POLICY = (program: string) =>
  `version: 1\nidentities:\n  a:\n    rules:\n      - { name: t, exec: { command: "true", program: ${program} } }\n`;

it('a served version this build does not load: not "first version", and says the diff is not known', async () => {
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, POLICY('/bin/true'), { mode: 0o600 });
  const first = await apply(policy);
  expect(first.stdout).toMatch(/first version: 1 identities, 1 rules/);
  writeFileSync(policy, POLICY('/bin/echo'), { mode: 0o600 });
  // The control: served version 1 loads, and the change is named.
  const second = await apply(policy);
  expect(second.stdout).toMatch(/identity a: rule t changed/);
  // What a later build refuses, written into version 2's own sources.
  appendFileSync(join(stateDir(policy), 'v', '2', 'src', '0'), '\tbroken: [\n');
  writeFileSync(policy, POLICY('/bin/date'), { mode: 0o600 });
  const third = await apply(policy);
  expect(third.code).toBe(0);
  expect(third.stdout).toMatch(/^apply: version 3 /m);
  expect(third.stdout).not.toMatch(/first version/);
  expect(third.stdout).toMatch(/what changed from version 2 is not known: this build does not load it/);
});
