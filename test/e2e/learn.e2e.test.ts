/**
 * The oldest question of forced commands, "which exact rsync --server line does my backup
 * send?", answered: learn a real push through sshd, suggest rules from it, load them; then the
 * same push is allowed and a --delete push is not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authorizedKeyLine, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';

let lab: Lab;
let key: ClientKey;
let backups: string;
let src: string;

beforeAll(async () => {
  lab = await startLab();
  backups = join(lab.sshd.dir, 'backups');
  src = join(lab.sshd.dir, 'src');
  mkdirSync(join(backups, 'host1'), { recursive: true });
  mkdirSync(src);
  writeFileSync(join(src, 'data.txt'), 'nightly\n');
  lab.writePolicy('version: 1\naudit:\n  file: {{AUDIT}}\n');
  key = await lab.sshd.newClientKey('learner');
});
afterAll(async () => {
  await lab?.stop();
});

function push(...args: string[]) {
  const { shell, host } = lab.sshd.rsyncRemoteShell(key);
  return spawnSync('/usr/bin/rsync', ['-e', shell, '-a', ...args, `${src}/`, `${host}:${backups}/host1/2026-11-24/`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

it('learn, suggest, load: the same push is then allowed and a --delete push is not', () => {
  lab.sshd.authorize([authorizedKeyLine('restrict', [NODE, BUNDLE, '--id', 'learner', '--policy', lab.policyDir, '--learn'], key)]);
  const learning = push();
  expect(learning.status).not.toBe(0);
  expect(learning.stderr).toContain('ssh-dispatch: learn mode: the request was recorded, not run');
  expect(lab.lastDecision()).toMatchObject({
    decision: 'learn',
    id: 'learner',
    command: `rsync --server -logDtpre.iLsfxCIvu . ${backups}/host1/2026-11-24/`,
  });
  expect(existsSync(join(backups, 'host1', '2026-11-24'))).toBe(false);

  const suggested = runBundle(['suggest', '--log', lab.auditFile, '--id', 'learner']);
  expect(suggested.code).toBe(0);
  expect(suggested.stdout).toContain(`root: "${backups}/host1"`);
  writeFileSync(join(lab.policyDir, 'learned.yaml'), suggested.stdout, { mode: 0o600 });
  expect(runBundle(['check', '--policy', lab.policyDir]).code).toBe(0);
  expect(runBundle(['apply', '--policy', lab.policyDir]).code).toBe(0);

  lab.sshd.authorize([lab.dispatchLine(key, 'learner')]);
  const allowed = push();
  expect(allowed.status, allowed.stderr).toBe(0);
  expect(existsSync(join(backups, 'host1', '2026-11-24', 'data.txt'))).toBe(true);

  const deleting = push('--delete');
  expect(deleting.status).not.toBe(0);
  expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
});

it('every record written, the learn record too, validates against schema/audit.schema.json', () => {
  const checked = lab.checkRecords();
  expect(checked.invalid).toEqual([]);
  expect(checked.records).toBeGreaterThanOrEqual(4);
  // A learn record names no plan: what would run is the policy's to say, once it allows it.
  expect(lab.records().find((r) => r.decision === 'learn')).not.toHaveProperty('cwd');
});
