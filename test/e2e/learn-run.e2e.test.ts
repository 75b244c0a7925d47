/**
 * Learning while the job runs (--learn-run, issue 27.7), through a real sshd: the first night's
 * backup succeeds while it is learned and `suggest` proposes its rule from the records; what the
 * window lets run is confined to the key line's paths, ends by itself, and no shell ever reads
 * the client's words. Each promise has its control: the same command behind a plain forced
 * command that simply runs it (`sh -c "$SSH_ORIGINAL_COMMAND"`, what a key without
 * ssh-dispatch gives), which does the damage.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';

let lab: Lab;
let key: ClientKey;
let backups: string;
let src: string;
let outside: string;
let plainRun: string;

/** An absolute UTC time `ms` from now, as a key line spells it (to the second). */
const utc = (ms: number) => `${new Date(Date.now() + ms).toISOString().slice(0, 19)}Z`;
const HOUR = 3600_000;

beforeAll(async () => {
  lab = await startLab();
  backups = join(lab.sshd.dir, 'backups');
  src = join(lab.sshd.dir, 'src');
  outside = join(lab.sshd.dir, 'outside');
  mkdirSync(join(backups, 'host1'), { recursive: true });
  mkdirSync(src);
  mkdirSync(outside);
  writeFileSync(join(src, 'data.txt'), 'nightly\n');
  writeFileSync(join(outside, 'keep.txt'), 'keep\n');
  lab.writePolicy('version: 1\naudit:\n  file: {{AUDIT}}\n');
  key = await lab.sshd.newClientKey('learner');
  // The control: a forced command that simply runs what the client sends, as sshd would without one.
  plainRun = join(lab.sshd.dir, 'plain-run.sh');
  writeFileSync(plainRun, '#!/bin/sh\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n', { mode: 0o755 });
});
afterAll(async () => {
  await lab?.stop();
});

/** The key's line: ssh-dispatch learning until `until`, allowed to write `write`. */
function learnRun(until: string, write: string[] = [backups]): void {
  const flags = ['--learn-run', until, ...write.flatMap((path) => ['--learn-write', path])];
  lab.sshd.authorize([authorizedKeyLine('restrict', [NODE, BUNDLE, '--id', 'learner', '--policy', lab.policyDir, ...flags], key)]);
}

function plainForcedCommand(): void {
  lab.sshd.authorize([`restrict,command="${plainRun}" ${key.publicKey}`]);
}

function push() {
  const { shell, host } = lab.sshd.rsyncRemoteShell(key);
  return spawnSync('/usr/bin/rsync', ['-e', shell, '-a', `${src}/`, `${host}:${backups}/host1/2026-12-07/`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('inside the window', () => {
  it("the night's rsync push runs and stores its files, and suggest proposes the rule from what ran", () => {
    learnRun(utc(HOUR));
    const pushed = push();
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(readFileSync(join(backups, 'host1', '2026-12-07', 'data.txt'), 'utf8')).toBe('nightly\n');
    const learned = lab.lastDecision();
    expect(learned).toMatchObject({
      decision: 'learn',
      ran: true,
      command: `rsync --server -logDtpre.iLsfxCIvu . ${backups}/host1/2026-12-07/`,
      sandbox: { read: [], write: [backups] },
    });
    expect(lab.recordsOf(String(learned.session)).find((r) => r.event === 'end')).toMatchObject({
      rule: '(learn-run)',
      outcome: 'exited',
      exit: 0,
    });

    const suggested = runBundle(['suggest', '--log', lab.auditFile, '--id', 'learner']);
    expect(suggested.code, suggested.stderr).toBe(0);
    expect(suggested.stdout).toContain('- name: learned-rsync-push');
    expect(suggested.stdout).toContain(`root: "${backups}/host1"`);
  });

  it('a command writing outside the named paths fails; the control, a plain forced command, writes there', async () => {
    learnRun(utc(HOUR));
    const confined = await lab.sshd.ssh(key, `touch ${outside}/planted`);
    expect(confined.code).not.toBe(0);
    // Not there at all in the namespace, or there read-only: either way, not written.
    expect(confined.stderr).toMatch(/Read-only file system|No such file or directory/);
    expect(existsSync(join(outside, 'planted'))).toBe(false);
    // It ran (and is learned), in the sandbox: the failure is the namespace's, not a refusal.
    expect(lab.lastDecision()).toMatchObject({ decision: 'learn', ran: true, argv: ['/usr/bin/touch', `${outside}/planted`] });

    const removing = await lab.sshd.ssh(key, `rm ${outside}/keep.txt`);
    expect(removing.code).not.toBe(0);
    expect(existsSync(join(outside, 'keep.txt'))).toBe(true);

    // The host's secrets are not in the namespace either.
    expect((await lab.sshd.ssh(key, 'cat /etc/shadow')).stdout.toString()).not.toContain('root:');

    plainForcedCommand();
    expect((await lab.sshd.ssh(key, `touch ${outside}/planted`)).code).toBe(0);
    expect(existsSync(join(outside, 'planted'))).toBe(true);
    expect((await lab.sshd.ssh(key, 'cat /etc/shadow')).stdout.toString()).toContain('root:');
  });

  it('a shell operator is not interpreted: refused and recorded, never run; the control runs both commands', async () => {
    learnRun(utc(HOUR));
    const twoCommands = `touch ${backups}/first;touch ${backups}/second`;
    const refused = await lab.sshd.ssh(key, twoCommands);
    expect(refused.code).toBe(126);
    expect(refused.stderr).toContain('the request was recorded, not run: tokenize-operator');
    expect(existsSync(join(backups, 'first'))).toBe(false);
    expect(existsSync(join(backups, 'second'))).toBe(false);
    const recorded = lab.lastDecision();
    expect(recorded).toMatchObject({ decision: 'learn', command: twoCommands });
    expect(recorded).not.toHaveProperty('ran');

    // Quoted, the ; is part of one literal word: one file of that name.
    const quoted = await lab.sshd.ssh(key, `touch '${backups}/first;touch second'`);
    expect(quoted.code, quoted.stderr).toBe(0);
    expect(existsSync(join(backups, 'first;touch second'))).toBe(true);
    expect(existsSync(join(backups, 'second'))).toBe(false);

    plainForcedCommand();
    expect((await lab.sshd.ssh(key, twoCommands)).code).toBe(0);
    expect(existsSync(join(backups, 'first'))).toBe(true);
    expect(existsSync(join(backups, 'second'))).toBe(true);
  });

  it('a program still running when the window closes is stopped then', async () => {
    learnRun(utc(6000));
    const started = Date.now();
    const stopped = await lab.sshd.ssh(key, 'sleep 120', { timeoutMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toContain('the learning window ended while the command ran');
    expect(lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end')).toMatchObject({
      rule: '(learn-run)',
      outcome: 'timeout',
    });
  });
});

describe('after the window', () => {
  it('an expired key line runs nothing and says why; the control, the same line still open, runs it', async () => {
    learnRun(utc(-HOUR));
    const expired = await lab.sshd.ssh(key, `touch ${backups}/after-the-window`);
    expect(expired.code).toBe(126);
    expect(expired.stderr).toContain('the learning window of this key ended at');
    expect(existsSync(join(backups, 'after-the-window'))).toBe(false);
    const recorded = lab.lastDecision();
    expect(recorded).toMatchObject({ decision: 'learn', command: `touch ${backups}/after-the-window` });
    expect(recorded).toHaveProperty('learn_until');
    expect(recorded).not.toHaveProperty('ran');
    expect(lab.recordsOf(String(recorded.session)).filter((r) => r.event === 'end')).toEqual([]);

    learnRun(utc(HOUR));
    expect((await lab.sshd.ssh(key, `touch ${backups}/after-the-window`)).code).toBe(0);
    expect(existsSync(join(backups, 'after-the-window'))).toBe(true);
  });

  it('a window more than 7 days ahead is a bad line: denied before anything is recorded', async () => {
    learnRun(utc(8 * 24 * HOUR));
    const before = lab.records().length;
    const denied = await lab.sshd.ssh(key, `touch ${backups}/too-far`);
    expect(denied.code).toBe(126);
    expect(denied.stderr).toContain("ssh-dispatch: refused by the server's policy");
    expect(existsSync(join(backups, 'too-far'))).toBe(false);
    expect(lab.records().length).toBe(before);
  });
});

it('check --authorized-keys: an open window is UNSAFE (exit 1), a closed one a warning', () => {
  const file = join(lab.sshd.dir, 'authorized_keys');
  learnRun(utc(HOUR));
  const open = runBundle(['check', '--policy', lab.policyDir, '--authorized-keys', file]);
  expect(open.code).toBe(1);
  expect(open.stdout + open.stderr).toMatch(/UNSAFE: --learn-run: until .* \[key-learn-run-active\]/);
  learnRun(utc(-HOUR));
  const closed = runBundle(['check', '--policy', lab.policyDir, '--authorized-keys', file]);
  // The control: the same line once its window has closed holds no UNSAFE finding.
  expect(closed.code).toBe(0);
  expect(closed.stdout + closed.stderr).toContain('key-learn-run-expired');
  expect(closed.stdout + closed.stderr).not.toContain('key-learn-run-active');
});

it('every record written validates against schema/audit.schema.json', () => {
  const checked = lab.checkRecords();
  expect(checked.invalid).toEqual([]);
  expect(lab.records().filter((r) => r.ran === true).length).toBeGreaterThanOrEqual(4);
});

/**
 * Whose privileges a run has: the account's, no more. Run as sshd would start it (the bundle, the
 * session's variables), once as nobody and once as root, the control: root keeps only an rsync
 * push's file capabilities (0x1b), nobody none, and what nobody writes is nobody's.
 */
describe.runIf(process.getuid?.() === 0)("the account's own privileges", () => {
  const NOBODY = 65534;
  let dir: string;
  let data: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-learn-run-'));
    chmodSync(dir, 0o755);
    data = join(dir, 'data');
    mkdirSync(data);
    mkdirSync(join(dir, 'log'));
    chownSync(data, NOBODY, NOBODY);
    chownSync(join(dir, 'log'), NOBODY, NOBODY);
    writeFileSync(join(dir, 'policy.yaml'), `version: 1\naudit: { file: ${join(dir, 'log', 'audit.jsonl')} }\n`, { mode: 0o644 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function learnAs(uid: number | null, name: string): string {
    const env = {
      SSH_ORIGINAL_COMMAND: `sh -c 'id -u; grep CapEff /proc/self/status; touch ${data}/${name}'`,
      SSH_CONNECTION: '127.0.0.1 40000 127.0.0.1 22',
      HOME: '/',
      USER: 'x',
      LOGNAME: 'x',
    };
    const args = ['--id', 'learner', '--policy', join(dir, 'policy.yaml'), '--learn-run', utc(HOUR), '--learn-write', data];
    const result =
      uid === null
        ? runBundle(args, env)
        : runBundle(['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', ...args], env, undefined, '/usr/bin/setpriv');
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  }

  it('as nobody: its uid, no capability, and its files are its own', () => {
    expect(learnAs(NOBODY, 'by-nobody')).toBe(`${NOBODY}\nCapEff:\t0000000000000000\n`);
    expect(statSync(join(data, 'by-nobody')).uid).toBe(NOBODY);
  });

  it('the control, as root: root, with only the file capabilities of an rsync push', () => {
    expect(learnAs(null, 'by-root')).toBe('0\nCapEff:\t000000000000001b\n');
  });
});
