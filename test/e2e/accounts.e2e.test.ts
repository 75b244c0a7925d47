/**
 * Keys that log into an account other than root (issue 18), after the one documented step,
 * `install.sh --account NAME`, through a real sshd as a real system account: docs/keys.md's
 * `ssh backup@server receive` works and is recorded in the account's own log, which root's
 * `logs` and `summary` read; the account cannot alter root's records; `check --as NAME` says
 * whether the account can read the policy and append to its log; logrotate keeps it working.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';

const asRoot = process.getuid?.() === 0;
const ACCOUNT = 'sshd-e2e-backup';
const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let prefix: string;
let etc: string;
let logs: string;
let store: string;
let sshd: ThrowawaySshd | null = null;
let key: ClientKey;
let uid: number;
let gid: number;
let created = false;

const command = () => join(prefix, 'bin', 'ssh-dispatch');
const runAsRoot = (...args: string[]) => spawnSync(command(), args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 30_000 });

describe.runIf(asRoot)('an account other than root', () => {
  beforeAll(async () => {
    try {
      execFileSync(
        '/usr/sbin/useradd',
        ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', '--password', '*', ACCOUNT],
        { stdio: 'ignore' },
      );
      created = true;
    } catch {
      // Left over from an interrupted run: used as it is, removed after.
      created = true;
    }
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${ACCOUNT}:`))!
      .split(':');
    [uid, gid] = [Number(entry[2]), Number(entry[3])];
    dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-accounts-'));
    chmodSync(dir, 0o755);
    prefix = join(dir, 'usr');
    etc = join(dir, 'etc', 'ssh-dispatch');
    logs = join(dir, 'log', 'ssh-dispatch');
    store = join(dir, 'store');
    mkdirSync(join(dir, 'etc', 'logrotate.d'), { recursive: true });
    // install.sh makes --log-dir itself, never the directories above it.
    mkdirSync(join(dir, 'log'));
    mkdirSync(store, { mode: 0o700 });
    chownSync(store, uid, gid);
    const installed = spawnSync(
      'bash',
      [
        join(repo, 'install.sh'),
        '--prefix',
        prefix,
        '--etc',
        etc,
        '--log-dir',
        logs,
        '--logrotate-dir',
        join(dir, 'etc', 'logrotate.d'),
        '--account',
        ACCOUNT,
      ],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 120_000 },
    );
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`created ${logs}/audit.${ACCOUNT}.jsonl`);
    writeFileSync(
      join(etc, 'policies', 'main.yaml'),
      `version: 1\naudit: { file: ${logs}/audit.jsonl }\nidentities:\n  host1-tar:\n    accounts: [${ACCOUNT}]\n    rules:\n      - { name: tarball, receive: { dir: ${store}, name: "backup-{timestamp}.tar", min-free: "0" } }\n`,
      { mode: 0o644 },
    );
    // The installer's advice, run as root: check, then apply (which compiles it for the account too).
    expect(runAsRoot('check', '--policy', join(etc, 'policies')).status).toBe(0);
    expect(runAsRoot('apply', '--policy', join(etc, 'policies')).status).toBe(0);
    sshd = await ThrowawaySshd.start({ user: ACCOUNT });
    key = await sshd.newClientKey('host1');
    sshd.authorize([authorizedKeyLine('restrict', [command(), '--id', 'host1-tar', '--policy', join(etc, 'policies')], key)]);
  }, 180_000);

  afterAll(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (created) spawnSync('/usr/sbin/userdel', [ACCOUNT], { stdio: 'ignore' });
  });

  it('docs/keys.md’s `tar c ... | ssh backup@server receive` works, and is recorded in the account’s own log', async () => {
    const result = await sshd!.ssh(key, 'receive', { input: Buffer.from('a tarball\n') });
    expect(result.code, result.stderr).toBe(0);
    const stored = readdirSync(store);
    expect(stored).toHaveLength(1);
    expect(statSync(join(store, stored[0]!)).uid).toBe(uid);
    const records = readFileSync(join(logs, `audit.${ACCOUNT}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.event, r.user, r.decision ?? r.outcome])).toEqual([
      ['decision', ACCOUNT, 'allow'],
      ['end', undefined, 'stored'],
    ]);
    expect(existsSync(join(logs, 'audit.jsonl'))).toBe(false);
  });

  it('root’s logs and summary read the account’s log beside root’s', () => {
    const shown = runAsRoot('logs', '--policy', join(etc, 'policies'), '--json');
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`"user":"${ACCOUNT}"`);
    // The identity lists the account (accounts:), so its records there are its own, not foreign.
    expect(shown.stdout).not.toContain('"foreign"');
    const summary = runAsRoot('summary', '--policy', join(etc, 'policies'), '--json');
    expect(JSON.parse(summary.stdout).rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'host1-tar', rule: 'tarball', allowed: 1 })]),
    );
  });

  it('a monitoring agent in group adm (not root, not the account) runs status on them', () => {
    const adm = Number(execFileSync('/usr/bin/getent', ['group', 'adm'], { encoding: 'utf8' }).split(':')[2]);
    const status = spawnSync(command(), ['status', '--policy', join(etc, 'policies'), '--stale', '1h'], {
      uid: 65534,
      gid: adm,
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(status.stdout).toMatch(/^SSH-DISPATCH OK - /);
    expect(status.status).toBe(0);
  });

  it('the account cannot alter root’s records or remove any log', () => {
    writeFileSync(join(logs, 'audit.jsonl'), '{"event":"decision"}\n', { mode: 0o640 });
    const probe = `const fs = require('fs'); const out = [];
for (const [what, f] of [['append', () => fs.openSync(process.argv[1], 'a')], ['unlink', () => fs.unlinkSync(process.argv[1])], ['unlink own', () => fs.unlinkSync(process.argv[2])], ['create', () => fs.openSync(process.argv[3], 'wx')]]) { try { f(); out.push(what + ' ok'); } catch (e) { out.push(what + ' ' + e.code); } }
console.log(out.join(','));`;
    const result = spawnSync(
      process.execPath,
      ['-e', probe, join(logs, 'audit.jsonl'), join(logs, `audit.${ACCOUNT}.jsonl`), join(logs, 'audit.other.jsonl')],
      { uid, gid, encoding: 'utf8' },
    );
    expect(result.stdout.trim()).toBe('append EACCES,unlink EACCES,unlink own EACCES,create EACCES');
  });

  it('check --as: ok for the account; an error, with the fix, for one without its log', () => {
    const ok = runAsRoot('check', '--policy', join(etc, 'policies'), '--as', ACCOUNT);
    expect(ok.stdout, ok.stdout).not.toMatch(/--as .*error/);
    const nobody = runAsRoot('check', '--policy', join(etc, 'policies'), '--as', 'nobody');
    expect(nobody.status).toBe(1);
    expect(nobody.stdout).toMatch(
      /--as nobody: error: .*audit\.nobody\.jsonl: cannot be appended to \(ENOENT: install\.sh --account nobody creates it\)/,
    );
  });

  it('max-sessions for the account: counted in the sessions.ACCOUNT directory install.sh made; without it, refused as limits-unusable and check --as says so', async () => {
    const slots = join(logs, `sessions.${ACCOUNT}`);
    expect(statSync(slots).uid).toBe(uid);
    expect(statSync(slots).mode & 0o777).toBe(0o700);
    const policy = join(etc, 'policies', 'main.yaml');
    writeFileSync(
      policy,
      `${readFileSync(policy, 'utf8')}  capped:\n    max-sessions: 1\n    rules:\n      - { name: tarball, receive: { dir: ${store}, name: "capped-{timestamp}.tar", min-free: "0" } }\n`,
      { mode: 0o644 },
    );
    expect(runAsRoot('apply', '--policy', join(etc, 'policies')).status).toBe(0);
    const capped = await sshd!.newClientKey('capped');
    sshd!.authorize([
      authorizedKeyLine('restrict', [command(), '--id', 'host1-tar', '--policy', join(etc, 'policies')], key),
      authorizedKeyLine('restrict', [command(), '--id', 'capped', '--policy', join(etc, 'policies')], capped),
    ]);
    const decisions = () =>
      readFileSync(join(logs, `audit.${ACCOUNT}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.event === 'decision' && r.id === 'capped');
    const served = await sshd!.ssh(capped, 'receive', { input: Buffer.from('capped\n') });
    expect(served.code, served.stderr).toBe(0);
    expect(decisions().at(-1)).toMatchObject({ decision: 'allow' });
    expect(readdirSync(slots)).toEqual([]);
    const checked = runAsRoot('check', '--policy', join(etc, 'policies'), '--as', ACCOUNT);
    expect(checked.stdout, checked.stdout).not.toMatch(/--as .*error/);

    // Control: the directory gone (an install from before the limits), the limit cannot be counted.
    const aside = `${slots}.aside`;
    execFileSync('/bin/mv', [slots, aside]);
    try {
      const refused = await sshd!.ssh(capped, 'receive', { input: Buffer.from('capped\n') });
      expect(refused.code).toBe(126);
      expect(decisions().at(-1)).toMatchObject({ decision: 'deny', reason: 'limits-unusable' });
      const warned = runAsRoot('check', '--policy', join(etc, 'policies'), '--as', ACCOUNT);
      expect(warned.status).toBe(1);
      expect(warned.stdout).toContain(
        `--as ${ACCOUNT}: error: ${slots}: cannot be written (ENOENT: install.sh --account ${ACCOUNT} creates it)`,
      );
      // The identity without max-sessions is served as before.
      expect((await sshd!.ssh(key, 'receive', { input: Buffer.from('plain\n') })).code).toBe(0);
    } finally {
      execFileSync('/bin/mv', [aside, slots]);
    }
  });

  it('after logrotate, the account’s new log is still its own and the next connection is recorded', async () => {
    const state = join(dir, 'logrotate.state');
    const rotated = spawnSync('/usr/sbin/logrotate', ['-f', '-s', state, join(dir, 'etc', 'logrotate.d', 'ssh-dispatch')], {
      encoding: 'utf8',
    });
    expect(rotated.status, rotated.stderr).toBe(0);
    const fresh = join(logs, `audit.${ACCOUNT}.jsonl`);
    expect(statSync(fresh).uid).toBe(uid);
    expect(existsSync(`${fresh}.1`)).toBe(true);
    const result = await sshd!.ssh(key, 'receive', { input: Buffer.from('the next night\n') });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(fresh, 'utf8')).toContain('"decision":"allow"');
    const fd = openSync(fresh, constants.O_RDONLY);
    closeSync(fd);
  });
});
