/**
 * rdiff-backup's two keys (docs/recipes.md, "rdiff-backup"), with the real client through a real
 * sshd: the update-only backup key (sandboxed, repository writable; check warns about it) takes
 * backups and refuses `restore`, `list increments` and `verify` ("Security Violation", rdiff-backup's
 * own --restrict-mode); the read-only restore key serves all three. A user found the first half
 * (issue 29): the owner needs the second key, and must not widen the first.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { clientEnv, runTool, sizes, sshCommand } from './tool-clients.js';

let lab: Lab;
let repo: string;
let local: string;
const keys = {} as Record<'backup' | 'restore', ClientKey>;

beforeAll(async () => {
  lab = await startLab();
  repo = join(lab.sshd.dir, 'srv', 'rdiff', 'host1');
  local = join(lab.sshd.dir, 'local');
  mkdirSync(join(lab.sshd.dir, 'srv', 'rdiff'), { recursive: true, mode: 0o700 });
  mkdirSync(join(local, 'data'), { recursive: true });
  mkdirSync(join(local, 'empty'));
  // The recipe makes the repository on the server, once, with a backup of an empty directory:
  // update-only refuses the client's mkdir and chmod of rdiff-backup-data.
  const init = runTool(
    '/usr/bin/rdiff-backup',
    ['--current-time', '999913600', 'backup', join(local, 'empty'), repo],
    clientEnv(local),
    local,
  );
  expect(init.code, init.out).toBe(0);
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  rdiff-backup:
    rules:
      - name: rdiff-backup
        exec:
          command: [rdiff-backup, "..."]
          run: [/usr/bin/rdiff-backup, server, --restrict-path, ${repo}, --restrict-mode, update-only]
          sandbox: { write: [${repo}] }
  rdiff-restore:
    rules:
      - name: rdiff-restore
        exec:
          command: [rdiff-backup, "..."]
          run: [/usr/bin/rdiff-backup, server, --restrict-path, ${repo}]
          sandbox: { read: [${repo}] }
`);
  for (const id of ['backup', 'restore'] as const) keys[id] = await lab.sshd.newClientKey(id);
  lab.sshd.authorize([lab.dispatchLine(keys.backup, 'rdiff-backup'), lab.dispatchLine(keys.restore, 'rdiff-restore')]);
}, 30_000);

afterAll(() => lab?.stop());

/** The client as the recipe runs it: `--remote-schema` names the key; `REPO` is host::repository. */
function rdiff(key: ClientKey, args: string[]): { code: number | null; out: string } {
  const { command, host } = sshCommand(lab.sshd, key);
  return runTool(
    '/usr/bin/rdiff-backup',
    ['--remote-schema', `${command} {h} rdiff-backup --server`, ...args.map((a) => (a === 'REPO' ? `${host}::${repo}` : a))],
    clientEnv(local),
    local,
  );
}

describe('rdiff-backup: the backup key backs up only; the restore key restores, lists and verifies', () => {
  it('two backups through the update-only key; restore, list and verify refused through it, served through the read-only key', () => {
    for (const [text, time] of [
      ['monday\n', '1000000000'],
      ['tuesday\n', '1000086400'],
    ] as const) {
      writeFileSync(join(local, 'data', 'a.txt'), text);
      const backup = rdiff(keys.backup, ['--current-time', time, 'backup', join(local, 'data'), 'REPO']);
      expect(backup.code, backup.out).toBe(0);
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'rdiff-backup' });
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('tuesday\n');
    const stored = sizes(repo);

    // The backup key: rdiff-backup's own update-only mode refuses every read of the history.
    const refused = {
      restore: rdiff(keys.backup, ['restore', '--at', '1B', 'REPO', join(local, 'through-backup-key')]),
      list: rdiff(keys.backup, ['list', 'increments', 'REPO']),
      verify: rdiff(keys.backup, ['verify', 'REPO']),
    };
    for (const [what, result] of Object.entries(refused)) {
      expect(result.code, `${what}: ${result.out}`).not.toBe(0);
      expect(result.out, what).toMatch(/Security Violation/);
    }

    // The restore key: the same three work (restore exits 2: restore.log cannot be written in the read-only repository).
    const restore = rdiff(keys.restore, ['restore', '--at', '1B', 'REPO', join(local, 'restored')]);
    expect(restore.code, restore.out).toBe(2);
    expect(restore.out).toContain('restore.log');
    expect(readFileSync(join(local, 'restored', 'a.txt'), 'utf8')).toBe('monday\n');
    const list = rdiff(keys.restore, ['list', 'increments', 'REPO']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/Found 2 increments/);
    const verify = rdiff(keys.restore, ['verify', 'REPO']);
    expect(verify.code, verify.out).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'rdiff-restore' });

    // Nothing of the history changed through either key (the refused restore left an empty
    // restore.log behind); a backup through the restore key fails.
    expect(rdiff(keys.restore, ['backup', join(local, 'data'), 'REPO']).code).not.toBe(0);
    expect(sizes(repo)).toEqual(new Map([...stored, ['rdiff-backup-data/restore.log', 0]]));
  }, 50_000);
});
