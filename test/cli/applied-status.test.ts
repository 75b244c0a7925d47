/**
 * check's last line after a chmod of the policy files (found in review): "served: these files"
 * though the served version is still readable only as the files were when applied (a chmod to
 * let the accounts read them reaches no connection until apply). The control: unchanged files
 * and modes say "served: these files" alone.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { appliedStatus } from '../../src/cli/applied-status.js';
import { readPolicyFiles } from '../../src/policy/load.js';
import { applyFiles } from '../policy/apply-fixture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-applied-status-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const status = (policy: string): string => {
  const read = readPolicyFiles(policy);
  return appliedStatus(policy, read.ok ? read.files : null);
};

it('a chmod since apply: the files are served, but who may read them is not, and apply serves that', async () => {
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, 'version: 1\nidentities:\n  a:\n    rules: []\n', { mode: 0o600 });
  await applyFiles(policy);
  expect(status(policy)).toMatch(/^served: these files, version 1 \([^)]*\)$/);
  chmodSync(policy, 0o644);
  expect(status(policy)).toMatch(
    /^served: these files, version 1 \(.*\); who may read them changed since \(files 0600 -> 0644\): "ssh-dispatch apply" serves that$/,
  );
});
