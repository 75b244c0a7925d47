/**
 * rclone's sftp backend through an sftp rule (docs/recipes.md, "rclone"): with the settings the
 * recipe gives, a copy and a check run with no refusal in the log; the control, rclone's
 * defaults, probes the server with shell commands first, each a recorded refusal that reads like
 * an attack in `summary`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';

let lab: Lab;
let root: string;
let local: string;
let key: ClientKey;

beforeAll(async () => {
  // Debian's default: the subsystem arrives as the sftp-server path.
  lab = await startLab({ extraConfig: ['Subsystem sftp /usr/lib/openssh/sftp-server'] });
  root = join(lab.sshd.dir, 'srv', 'rclone');
  local = join(lab.sshd.dir, 'local');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  mkdirSync(join(local, 'tree', 'sub'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(join(local, 'tree', `f${i}.txt`), `file ${i}\n`.repeat(100 * (i + 1)));
  writeFileSync(join(local, 'tree', 'sub', 'deep.txt'), 'deep\n');
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  rclone:
    rules:
      - name: files
        sftp: { root: ${root}, access: read-write }
`);
  key = await lab.sshd.newClientKey('rclone');
  lab.sshd.authorize([lab.dispatchLine(key, 'rclone')]);
});

afterAll(() => lab?.stop());

/** rclone with an on-the-fly sftp remote for the lab's sshd; `settings` are the recipe's (or none, the control). */
function rclone(args: string[], settings: string[]): { code: number | null; out: string } {
  const remote = [
    ':sftp',
    'host=127.0.0.1',
    `port=${lab.sshd.port}`,
    `user=${lab.sshd.user}`,
    `key_file=${key.privateKeyFile}`,
    `known_hosts_file=${join(lab.sshd.dir, 'known_hosts')}`,
    ...settings,
  ].join(',');
  const result = spawnSync(
    '/usr/bin/rclone',
    [...args.map((a) => a.replace('REMOTE:', `${remote}:`)), '--config', '/dev/null', '--retries', '1', '--low-level-retries', '1'],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: '/usr/bin:/bin', HOME: local },
    },
  );
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const denials = (from: number) =>
  lab
    .records()
    .slice(from)
    .filter((r) => r.event === 'decision' && r.decision === 'deny');

/** The recipe's settings (docs/recipes.md, "rclone"). */
const RECIPE = ['shell_type=none', 'set_modtime=false'];

describe('rclone sftp', () => {
  it('with the recipe: copy and check (by download) succeed, and the log has no refusal', { timeout: 120_000 }, () => {
    const before = lab.records().length;
    const copy = rclone(['copy', join(local, 'tree'), 'REMOTE:recipe'], RECIPE);
    expect(copy.code, copy.out).toBe(0);
    expect(readFileSync(join(root, 'recipe', 'sub', 'deep.txt'), 'utf8')).toBe('deep\n');
    const check = rclone(['check', '--download', join(local, 'tree'), 'REMOTE:recipe'], RECIPE);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('0 differences found');
    const records = lab.records().slice(before);
    expect(records.filter((r) => r.event === 'decision' && r.decision === 'deny')).toEqual([]);
    expect(records.filter((r) => r.event === 'file' && r.refused !== undefined)).toEqual([]);
  });

  it("control: rclone's defaults probe the server with shell commands, each a recorded refusal", { timeout: 120_000 }, () => {
    const before = lab.records().length;
    rclone(['copy', join(local, 'tree'), 'REMOTE:defaults'], []);
    const probes = denials(before).map((r) => String(r.command));
    expect(probes).toEqual(expect.arrayContaining(['echo ${ShellId}%ComSpec%', 'md5sum', 'sha1sum']));
  });
});
