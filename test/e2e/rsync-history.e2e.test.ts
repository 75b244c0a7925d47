/**
 * History is read-only to an rsync key (docs/threat-model.md, "History belongs to the owner"),
 * through the real sshd with the stock rsync client. Two copies of the same nightly history, made
 * by the same owner's pushes: one served by a `snapshot: true` rule, one by the control, a key
 * whose forced command is `cd ROOT && exec $SSH_ORIGINAL_COMMAND` (what sysadmins write without
 * us). Each attack runs against both: the control shows the damage, the rule leaves history as
 * it was.
 *
 * The routes: --inplace into today's --link-dest snapshot rewrites yesterday's file (one inode);
 * a same-size, same-time copy with another mode re-chmods it; an old snapshot's directory gets new
 * attributes and a planted file; tomorrow's snapshot filled ahead of the owner is kept by the
 * owner's run. And the owner's side: incrementals stay hard links, a failed push is set aside so
 * the retry works, and the end record says what each push wrote.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  symlinkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { rsyncThrough, startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';
import { waitFor } from './wait.js';

let lab: Lab;
let snapRoot: string;
let controlRoot: string;
let owner: ClientKey;
let plainWrite: ClientKey;
let keeper: ClientKey;
let deleter: ClientKey;
let bare: ClientKey;
let dir: string;

const DAY1 = '2026-12-01';
const DAY2 = '2026-12-02';
const DAY3 = '2026-12-03';
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n';

function rsync(key: ClientKey, args: string[]): { code: number | null; out: string } {
  return rsyncThrough(lab.sshd, key, args, { cwd: dir });
}

/** A client tree: etc/passwd, etc/hosts, with fixed times (so copies of it compare equal). */
function tree(name: string, passwd = PASSWD): string {
  const top = join(dir, name);
  mkdirSync(join(top, 'etc'), { recursive: true });
  writeFileSync(join(top, 'etc', 'passwd'), passwd, { mode: 0o644 });
  writeFileSync(join(top, 'etc', 'hosts'), '127.0.0.1 localhost\n', { mode: 0o644 });
  const then = new Date('2026-11-30T12:00:00Z');
  for (const path of ['etc/passwd', 'etc/hosts', 'etc', '.']) utimesSync(join(top, path), then, then);
  return top;
}

const stored = (root: string, day: string, path: string) => join(root, day, path);
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** The owner's nightly: day 1 whole, day 2 as a --link-dest incremental, into both roots. */
function ownersNights(): void {
  tree('src');
  expect(rsync(owner, ['-a', 'src/', `HOST:${DAY1}/`]).code).toBe(0);
  expect(rsync(owner, ['-a', `--link-dest=../${DAY1}`, 'src/', `HOST:${DAY2}/`]).code).toBe(0);
  expect(rsync(bare, ['-a', 'src/', `HOST:${DAY1}/`]).code).toBe(0);
  expect(rsync(bare, ['-a', `--link-dest=../${DAY1}`, 'src/', `HOST:${DAY2}/`]).code).toBe(0);
}

beforeAll(async () => {
  lab = await startLab();
  dir = lab.sshd.dir;
  snapRoot = join(dir, 'snapshots');
  controlRoot = join(dir, 'control');
  mkdirSync(snapRoot, { mode: 0o700 });
  mkdirSync(controlRoot, { mode: 0o700 });
  mkdirSync(join(dir, 'mirror'), { mode: 0o700 });
  mkdirSync(join(dir, 'keep'), { mode: 0o700 });
  mkdirSync(join(dir, 'mdel'), { mode: 0o700 });
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  owner:
    rules:
      - name: nightly
        rsync: { root: ${snapRoot}, access: write, snapshot: true }
  plain-write:
    rules:
      - name: mirror
        rsync: { root: ${dir}/mirror, access: write }
  keep:
    rules:
      - name: drop
        rsync: { root: ${dir}/keep, access: write, overwrite: false }
  mirror-del:
    rules:
      - name: mirror-del
        rsync: { root: ${dir}/mdel, access: write, delete: true, max-delete: 1 }
`);
  owner = await lab.sshd.newClientKey('owner');
  plainWrite = await lab.sshd.newClientKey('plain-write');
  keeper = await lab.sshd.newClientKey('keep');
  deleter = await lab.sshd.newClientKey('mirror-del');
  bare = await lab.sshd.newClientKey('bare');
  lab.sshd.authorize([
    lab.dispatchLine(owner, 'owner'),
    lab.dispatchLine(plainWrite, 'plain-write'),
    lab.dispatchLine(keeper, 'keep'),
    lab.dispatchLine(deleter, 'mirror-del'),
    // Written by hand: ssh-dispatch's own key-line writer refuses shell syntax in command=.
    `restrict,command="cd ${controlRoot} && exec $SSH_ORIGINAL_COMMAND" ${bare.publicKey}`,
  ]);
  ownersNights();
});

afterAll(async () => {
  await lab?.stop();
});

describe("the owner's nightly under snapshot: true", () => {
  it('day 2 is an incremental: unchanged files are hard links to day 1, in both copies', () => {
    for (const root of [snapRoot, controlRoot]) {
      expect(statSync(stored(root, DAY2, 'etc/passwd')).ino).toBe(statSync(stored(root, DAY1, 'etc/passwd')).ino);
      expect(statSync(stored(root, DAY2, 'etc/passwd')).nlink).toBe(2);
    }
  });

  it('the end record of each push says what rsync wrote; day 2 lists only what differs from day 1', () => {
    const ends = lab.records().filter((r) => r.event === 'end' && r.rule === 'nightly');
    expect(ends).toHaveLength(2);
    expect(ends[0]).toMatchObject({
      exit: 0,
      writes: {
        created: expect.arrayContaining([`${DAY1}/`, `${DAY1}/etc/passwd`, `${DAY1}/etc/hosts`]),
        replaced: [],
        removed: [],
        bytes: PASSWD.length + 20,
      },
    });
    // Unchanged files were linked, not sent: the list has the directories rsync made, no file.
    const day2 = ends[1]!.writes as { created: string[]; bytes: number };
    expect(day2.created.filter((name) => !name.endsWith('/'))).toEqual([]);
    expect(day2.bytes).toBe(0);
    // The owner asks who wrote a file: the night that created it, and no other session.
    const found = runBundle(['logs', '--policy', lab.policyDir, '--path', `${DAY1}/etc/passwd`, '--json'])
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect([...new Set(found.map((r) => r.session))]).toEqual([ends[0]!.session]);
  });
});

describe('attacks on the history, each with its control', () => {
  it("--inplace into today's snapshot rewrites yesterday's file in the control; under the rule it is refused", () => {
    tree('evil', 'root::0:0:root:/root:/bin/sh\n');
    const control = rsync(bare, ['-a', '--inplace', '--no-W', '-I', 'evil/', `HOST:${DAY2}/`]);
    expect(control.code, control.out).toBe(0);
    expect(readFileSync(stored(controlRoot, DAY1, 'etc/passwd'), 'utf8')).toBe('root::0:0:root:/root:/bin/sh\n');

    expect(rsync(owner, ['-a', '--inplace', '-I', 'evil/', `HOST:${DAY2}/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(readFileSync(stored(snapRoot, DAY1, 'etc/passwd'), 'utf8')).toBe(PASSWD);
  });

  it('a same-size, same-time copy with mode 0666 re-chmods the shared inode in the control; under the rule the push is refused', () => {
    const evil = tree('evil-mode');
    chmodSync(join(evil, 'etc', 'passwd'), 0o666);
    const control = rsync(bare, ['-a', 'evil-mode/', `HOST:${DAY2}/`]);
    expect(control.code, control.out).toBe(0);
    expect(mode(stored(controlRoot, DAY1, 'etc/hosts'))).toBe('644');
    // (passwd was rewritten by the test above; hosts shows the same through its own link)
    chmodSync(join(evil, 'etc', 'hosts'), 0o666);
    expect(rsync(bare, ['-a', 'evil-mode/', `HOST:${DAY2}/`]).code).toBe(0);
    expect(mode(stored(controlRoot, DAY1, 'etc/hosts'))).toBe('666');

    expect(rsync(owner, ['-a', 'evil-mode/', `HOST:${DAY2}/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-snapshot-exists' });
    expect(mode(stored(snapRoot, DAY1, 'etc/hosts'))).toBe('644');
    expect(mode(stored(snapRoot, DAY1, 'etc/passwd'))).toBe('644');
  });

  it('an old snapshot gets new directory attributes and a planted file in the control; under the rule nothing in it changes', () => {
    const plant = tree('plant');
    mkdirSync(join(plant, 'etc', 'cron.d'));
    writeFileSync(join(plant, 'etc', 'cron.d', 'evil'), '* * * * * root sh -c id\n');
    chmodSync(join(plant, 'etc'), 0o700);
    const old = new Date('1980-01-01T00:00:00Z');
    utimesSync(join(plant, 'etc'), old, old);
    const control = rsync(bare, ['-a', 'plant/', `HOST:${DAY1}/`]);
    expect(control.code, control.out).toBe(0);
    expect(existsSync(stored(controlRoot, DAY1, 'etc/cron.d/evil'))).toBe(true);
    expect(mode(stored(controlRoot, DAY1, 'etc'))).toBe('700');
    expect(statSync(stored(controlRoot, DAY1, 'etc')).mtime.getUTCFullYear()).toBe(1980);

    const before = { mode: mode(stored(snapRoot, DAY1, 'etc')), mtime: statSync(stored(snapRoot, DAY1, 'etc')).mtimeMs };
    for (const target of [`${DAY1}/`, `${DAY1}/etc/`, `/${DAY1}/etc/cron.d/`]) {
      expect(rsync(owner, ['-a', 'plant/', `HOST:${target}`]).code).not.toBe(0);
    }
    expect(existsSync(stored(snapRoot, DAY1, 'etc/cron.d'))).toBe(false);
    expect({ mode: mode(stored(snapRoot, DAY1, 'etc')), mtime: statSync(stored(snapRoot, DAY1, 'etc')).mtimeMs }).toEqual(before);
  });

  it("tomorrow's snapshot planted ahead of the owner: the control's run keeps it with exit 0; under the rule the owner's run fails loudly", () => {
    tree('tomorrow', 'planted\n');
    // The control: the owner's run with --ignore-existing (what overwrite: false imposed).
    expect(rsync(bare, ['-a', 'tomorrow/', `HOST:${DAY3}/`]).code).toBe(0);
    const control = rsync(bare, ['-a', '--ignore-existing', `--link-dest=../${DAY2}`, 'src/', `HOST:${DAY3}/`]);
    expect(control.code, control.out).toBe(0);
    expect(readFileSync(stored(controlRoot, DAY3, 'etc/passwd'), 'utf8')).toBe('planted\n');

    // The thief's planted snapshot is a new directory, which the rule allows ...
    expect(rsync(owner, ['-a', 'tomorrow/', `HOST:${DAY3}/`]).code).toBe(0);
    // ... and so the owner's run the next night fails, and says why in the log.
    const run = rsync(owner, ['-a', `--link-dest=../${DAY2}`, 'src/', `HOST:${DAY3}/`]);
    expect(run.code).not.toBe(0);
    expect(run.out).toContain("refused by the server's policy");
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'rsync-snapshot-exists',
      detail: expect.stringContaining(`${DAY3} exists`),
    });
  });

  it('a plain write rule refuses a push into a directory whose files are hard-linked from another (a cp -al rotation)', () => {
    // The owner's own rotation on the server: day 2 is day 1 hard-linked (as rsnapshot's cp -al does).
    const mirror = join(dir, 'mirror');
    mkdirSync(join(mirror, 'day1', 'etc'), { recursive: true });
    mkdirSync(join(mirror, 'day2', 'etc'), { recursive: true });
    cpSync(join(dir, 'src', 'etc', 'hosts'), join(mirror, 'day1', 'etc', 'hosts'), { preserveTimestamps: true });
    linkSync(join(mirror, 'day1', 'etc', 'hosts'), join(mirror, 'day2', 'etc', 'hosts'));
    const evil = tree('evil-mode-2');
    chmodSync(join(evil, 'etc', 'hosts'), 0o666);
    expect(rsync(plainWrite, ['-a', 'evil-mode-2/', 'HOST:day2/']).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'rsync-destination-shares-inodes',
      detail: expect.stringContaining('day2/etc/hosts'),
    });
    expect(mode(join(mirror, 'day1', 'etc', 'hosts'))).toBe('644');
    // Through the owner's own symlink to it (latest -> day2): rsync would follow it (found in review).
    symlinkSync('day2', join(mirror, 'latest'));
    expect(rsync(plainWrite, ['-a', 'evil-mode-2/', 'HOST:latest/']).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-destination-shares-inodes' });
    expect(mode(join(mirror, 'day1', 'etc', 'hosts'))).toBe('644');
    // --link-dest, which makes such links, is only a snapshot rule's (a concurrent push could chmod through them).
    expect(rsync(plainWrite, ['-a', '--link-dest=../day1', 'evil-mode-2/', 'HOST:day3/']).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'rsync-option-refused',
      detail: expect.stringContaining('snapshot: true'),
    });
    // A destination of its own is pushed as before, and its end record lists what was written.
    expect(rsync(plainWrite, ['-a', 'evil-mode-2/', 'HOST:fresh/']).code).toBe(0);
    expect(
      lab
        .records()
        .filter((r) => r.event === 'end')
        .pop(),
    ).toMatchObject({ rule: 'mirror', exit: 0, writes: { created: expect.arrayContaining(['fresh/etc/hosts']) } });
  });

  it('overwrite: false puts back the attributes rsync set on stored directories, and the end record names them', () => {
    const keep = join(dir, 'keep');
    mkdirSync(join(keep, 'day1', 'etc'), { recursive: true, mode: 0o755 });
    chmodSync(join(keep, 'day1', 'etc'), 0o755);
    const before = statSync(join(keep, 'day1', 'etc'));
    const result = rsync(keeper, ['-a', 'plant/', 'HOST:day1/']);
    expect(result.code, result.out).toBe(0);
    const after = statSync(join(keep, 'day1', 'etc'));
    expect({ mode: mode(join(keep, 'day1', 'etc')), mtime: after.mtimeMs, uid: after.uid }).toEqual({
      mode: '755',
      mtime: before.mtimeMs,
      uid: before.uid,
    });
    const end = lab
      .records()
      .filter((r) => r.event === 'end')
      .pop()!;
    expect(end).toMatchObject({ rule: 'drop', restored: expect.arrayContaining([join(keep, 'day1', 'etc')]) });
    // New names are what a plain overwrite: false rule allows; the owner sees them listed.
    expect((end.writes as { created: string[] }).created).toContain('day1/etc/cron.d/evil');
  });

  it('a plain write rule refuses --inplace and --append too: they write into a stored inode', () => {
    for (const option of ['--inplace', '--append']) {
      expect(rsync(plainWrite, ['-a', option, 'src/', 'HOST:m/']).code).not.toBe(0);
      expect(lab.lastDecision()).toMatchObject({
        decision: 'deny',
        reason: 'rsync-option-refused',
        detail: expect.stringContaining('hard link'),
      });
    }
    expect(readdirSync(join(dir, 'mirror')).sort()).toEqual(['day1', 'day2', 'fresh', 'latest']);
  });
});

describe('the report FIFO in root', () => {
  it('a --delete push into root removes what it should and never the FIFO (it would count against max-delete)', () => {
    writeFileSync(join(dir, 'mdel', 'old'), 'old\n');
    mkdirSync(join(dir, 'one'), { recursive: true });
    writeFileSync(join(dir, 'one', 'new'), 'new\n');
    for (let i = 0; i < 3; i++) {
      const result = rsync(deleter, ['-a', '--delete', 'one/', 'HOST:']);
      expect(result.code, result.out).toBe(0);
    }
    const ends = lab.records().filter((r) => r.event === 'end' && r.rule === 'mirror-del');
    expect(ends.map((r) => (r.writes as { removed: string[] }).removed)).toEqual([['old'], [], []]);
    expect(readdirSync(join(dir, 'mdel')).sort()).toEqual(['new']);
  });
});

describe('a failed snapshot push', () => {
  it('is set aside under a dot name, the end record says where, and the retry makes the snapshot', async () => {
    // A push cut off mid-transfer: the client is killed once the server has made the directory.
    writeFileSync(join(dir, 'src', 'big.bin'), Buffer.alloc(4 * 1024 * 1024, 7));
    const { shell, host } = lab.sshd.rsyncRemoteShell(owner);
    const client = spawn('/usr/bin/rsync', ['-e', shell, '-a', '--bwlimit=256', 'src/', `${host}:2026-12-04/`], {
      cwd: dir,
      stdio: 'ignore',
    });
    const cut = new Promise((done) => client.once('exit', done));
    await waitFor('the snapshot directory', () => existsSync(join(snapRoot, '2026-12-04')));
    client.kill('SIGKILL');
    await cut;
    const end = await waitFor('the end record of the cut push', () =>
      lab.records().find((r) => r.event === 'end' && r.set_aside !== undefined),
    );
    expect(end).toMatchObject({ set_aside: expect.stringMatching(/\/\.2026-12-04\.failed-[0-9a-f]{16}$/) });
    expect(end.exit).not.toBe(0);
    expect(existsSync(join(snapRoot, '2026-12-04'))).toBe(false);
    expect(lstatSync(end.set_aside as string).isDirectory()).toBe(true);

    rmSync(join(dir, 'src', 'big.bin'));
    expect(rsync(owner, ['-a', 'src/', 'HOST:2026-12-04/']).code).toBe(0);
    expect(readFileSync(stored(snapRoot, '2026-12-04', 'etc/passwd'), 'utf8')).toBe(PASSWD);
    // A client cannot name the set-aside directory, as a snapshot or as a basis.
    expect(rsync(owner, ['-a', 'src/', `HOST:${(end.set_aside as string).split('/').pop()}/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-snapshot-refused' });
    // Nothing of the dispatcher's own is left in root: the report FIFO is gone.
    expect(readdirSync(snapRoot).filter((name) => name.startsWith('.ssh-dispatch'))).toEqual([]);
  });

  it('a dry run makes no directory', () => {
    expect(rsync(owner, ['-an', 'src/', 'HOST:2026-12-05/']).code).toBe(0);
    expect(existsSync(join(snapRoot, '2026-12-05'))).toBe(false);
  });
});
