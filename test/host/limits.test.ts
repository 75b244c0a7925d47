/**
 * Per-identity limits (host/limits.ts): slot files taken whole, freed by their holder or by its
 * death, never two holders of one slot; the limits an identity and rule ask for; the identity's
 * floor in each kind of plan.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  holderAlive,
  openSlotDirectory,
  processStart,
  sessionKey,
  slotDirectory,
  takeLimits,
  takeSlot,
  type SlotResult,
} from '../../src/host/limits.js';
import { withFloor } from '../../src/rules/plan.js';
import { rootLockKey } from '../../src/rules/rsync/lock.js';
import { formatPolicyError, parsePolicyText } from '../../src/policy/parse.js';
import type { Plan } from '../../src/rules/plan.js';
import { policyFrom } from '../helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'limits-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const slots = () => join(dir, 'sessions');
const me = () => `${process.pid}-${processStart(process.pid)}`;

describe('holderAlive', () => {
  const start = (pid: number) => (pid === 42 ? '1000' : null);
  it.each([
    ['the process that took it', '42-1000', true],
    ['a pid that is gone', '43-1000', false],
    ['a pid reused by a later process (another start time)', '42-999', false],
    ['no symlink (a planted file)', '', false],
    ['garbage', 'x-y', false],
    ['a trailing newline', '42-1000\n', false],
  ])('%s', (_, text, alive) => expect(holderAlive(text, start)).toBe(alive));

  it('this process is alive by its own /proc entry', () => expect(holderAlive(me())).toBe(true));
});

describe('openSlotDirectory', () => {
  it("a directory another session made at the same moment is this one's too (found by CI: a limits-unusable refusal)", () => {
    const fresh = join(dir, 'fresh');
    const raced = (path: string) => {
      mkdirSync(path, { mode: 0o700 }); // the other session, first
      throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    };
    expect(typeof openSlotDirectory(fresh, raced)).toBe('object');
    expect(openSlotDirectory(join(dir, 'missing', 'deeper'))).toMatch(/^cannot create .*ENOENT/);
  });
});

describe('takeSlot', () => {
  it('gives out max slots, then none until one is released', () => {
    const a = takeSlot(slots(), 'k', 2);
    const b = takeSlot(slots(), 'k', 2);
    const c = takeSlot(slots(), 'k', 2);
    expect([a.ok, b.ok, c]).toEqual([true, true, { ok: false, busy: true }]);
    (a as SlotResult & { ok: true }).release();
    expect(takeSlot(slots(), 'k', 2).ok).toBe(true);
    // Another key counts apart.
    expect(takeSlot(slots(), 'other', 1).ok).toBe(true);
  });

  it('makes its directory 0700, holds a slot as a link to its pid and start time, and removes it on release', () => {
    const taken = takeSlot(slots(), 'k', 1);
    expect(taken.ok).toBe(true);
    expect(statSync(slots()).mode & 0o777).toBe(0o700);
    expect(readdirSync(slots())).toEqual(['k.0']);
    expect(readlinkSync(join(slots(), 'k.0'))).toBe(me());
    (taken as SlotResult & { ok: true }).release();
    expect(readdirSync(slots())).toEqual([]);
  });

  it('frees the slot of a killed holder (a pid that is gone) and of a reused pid', () => {
    mkdirSync(slots(), { mode: 0o700 });
    symlinkSync('999999999-5', join(slots(), 'k.0'));
    symlinkSync(`1-${Number(processStart(1)) + 1}`, join(slots(), 'k.1'));
    expect(takeSlot(slots(), 'k', 2).ok).toBe(true);
    expect(takeSlot(slots(), 'k', 2).ok).toBe(true);
    expect(takeSlot(slots(), 'k', 2)).toEqual({ ok: false, busy: true });
  });

  it('a planted regular file is no holder', () => {
    mkdirSync(slots(), { mode: 0o700 });
    writeFileSync(join(slots(), 'k.0'), `1-${processStart(1)}`);
    expect(takeSlot(slots(), 'k', 1).ok).toBe(true);
  });

  it('control: a live holder keeps its slot', () => {
    mkdirSync(slots(), { mode: 0o700 });
    symlinkSync(`1-${processStart(1)}`, join(slots(), 'k.0'));
    expect(takeSlot(slots(), 'k', 1)).toEqual({ ok: false, busy: true });
  });

  it('a release does not free a slot that another holder has taken since', () => {
    const taken = takeSlot(slots(), 'k', 1) as SlotResult & { ok: true };
    rmSync(join(slots(), 'k.0'));
    symlinkSync(`1-${processStart(1)}`, join(slots(), 'k.0'));
    taken.release();
    expect(readdirSync(slots())).toEqual(['k.0']);
  });

  it.each([
    ['writable by others', () => mkdirSync(slots(), { mode: 0o700 }), () => chmodSync(slots(), 0o777), 'writable by group or others'],
    [
      'a symlink',
      () => mkdirSync(join(dir, 'real')),
      () => symlinkSync(join(dir, 'real'), slots()),
      'is not a directory (or is a symlink)',
    ],
    ['missing with no parent', () => {}, () => rmSync(dir, { recursive: true }), 'cannot create'],
  ])('refuses a directory that is %s', (_, before, after, message) => {
    before();
    after();
    const taken = takeSlot(slots(), 'k', 1);
    expect(taken.ok).toBe(false);
    expect((taken as { error: string }).error).toContain(message);
  });
});

describe('slotDirectory', () => {
  it.each([
    [0, 'root', '/var/log/ssh-dispatch/sessions'],
    [1001, 'backup', '/var/log/ssh-dispatch/sessions.backup'],
    [1001, 'Not An Account', '/var/log/ssh-dispatch/sessions'],
  ])('uid %d, user %s', (uid, user, expected) => expect(slotDirectory('/var/log/ssh-dispatch/audit.jsonl', uid, user)).toBe(expected));
});

describe('takeLimits', () => {
  const policy = policyFrom(`version: 1
identities:
  capped:
    max-sessions: 2
    rules:
      - { name: push, rsync: { root: /srv/a, access: write, single-run: true } }
      - { name: pull, rsync: { root: /srv/a, access: read } }
  free:
    rules:
      - { name: push, rsync: { root: /srv/a, access: write } }
`);
  const capped = policy.identities.get('capped')!;
  const free = policy.identities.get('free')!;
  const calls: [string, number][] = [];
  const fake =
    (busy: string | null, error = false) =>
    (_dir: string, key: string, max: number): SlotResult => {
      calls.push([key, max]);
      if (key !== busy) return { ok: true, release: () => calls.push([`release ${key}`, 0]) };
      return error ? { ok: false, busy: false, error: 'cannot create /x: EACCES' } : { ok: false, busy: true };
    };
  beforeEach(() => void calls.splice(0));

  it('takes nothing, and touches nothing on disk, for an identity and rule without limits', () => {
    const held = takeLimits(free, free.rules[0]!, '/nonexistent', fake(null));
    expect(held.refusal).toBeNull();
    expect(calls).toEqual([]);
  });

  it('takes a session slot and the root lock, and releases both', () => {
    const held = takeLimits(capped, capped.rules[0]!, '/d', fake(null));
    expect(held.refusal).toBeNull();
    held.release();
    expect(calls).toEqual([
      [sessionKey('capped'), 2],
      [rootLockKey('/srv/a'), 1],
      [`release ${sessionKey('capped')}`, 0],
      [`release ${rootLockKey('/srv/a')}`, 0],
    ]);
  });

  it.each([
    ['max-sessions', sessionKey('capped'), 0, false, 'identity capped has 2 session(s) running (max-sessions: 2)'],
    ['rsync-single-run', rootLockKey('/srv/a'), 0, false, 'rule push: another rsync of /srv/a is running (single-run: true)'],
    ['limits-unusable', sessionKey('capped'), 0, true, 'sessions: cannot create /x: EACCES'],
  ])('%s: refused, and what was taken is given back', (reason, busy, rule, error, detail) => {
    const held = takeLimits(capped, capped.rules[rule]!, '/d/sessions', fake(busy, error));
    expect(held.refusal).toEqual({ reason, detail });
    const released = calls.filter(([k]) => k.startsWith('release')).length;
    expect(released).toBe(reason === 'rsync-single-run' ? 1 : 0);
  });

  it('a pull of a rule without single-run takes only the session slot', () => {
    takeLimits(capped, capped.rules[1]!, '/d', fake(null));
    expect(calls).toEqual([[sessionKey('capped'), 2]]);
  });

  it('the root lock is the root, whoever asks (rrsync locks the directory)', () => {
    expect(rootLockKey('/srv/a')).toBe(rootLockKey('/srv/a'));
    expect(rootLockKey('/srv/a')).not.toBe(rootLockKey('/srv/b'));
    expect(rootLockKey('/srv/a')).toMatch(/^root-[0-9a-f]{32}$/);
  });
});

describe('withIdentityFloor', () => {
  const exec = (over: object): Plan =>
    ({
      kind: 'exec',
      program: '/usr/bin/rsync',
      argv: [],
      env: {},
      cwd: null,
      umask: null,
      timeoutMs: null,
      supervise: true,
      confine: null,
      ...over,
    }) as Plan;
  const confine = (pull: object | null) => ({ root: '/srv/a', within: ['/srv/a'], paths: [], wildcards: [], pull });
  const receive = {
    kind: 'receive',
    dir: '/srv/in',
    name: 'x',
    mode: 0o600,
    maxBytes: 1,
    minFreeBytes: 100,
    idleTimeoutMs: 1,
    keep: null,
    retention: { pattern: 'x', clientName: null },
    expect: { size: null, sha256: null },
  } as Plan;
  const files = (access: string) =>
    ({
      kind: 'files',
      protocol: 'sftp',
      scp: null,
      sandbox: {},
      policy: { root: '/srv/f', access, delete: false, overwrite: false, umask: 0o22, minFreeBytes: 100, idleTimeoutMs: 0 },
    }) as unknown as Plan;
  it.each([
    ['a receive under its rule floor', receive, 50, { minFreeBytes: 100 }],
    ['a receive above it', receive, 500, { minFreeBytes: 500 }],
    ['an sftp write rule', files('write'), 500, { policy: expect.objectContaining({ minFreeBytes: 500 }) }],
    ['an sftp read rule (writes nothing)', files('read'), 500, { policy: expect.objectContaining({ minFreeBytes: 100 }) }],
    [
      'an rsync push with a floor',
      exec({ confine: confine(null), minFree: { path: '/srv/a', bytes: 100 } }),
      500,
      { minFree: { path: '/srv/a', bytes: 500 } },
    ],
    ['an rsync push with min-free: 0', exec({ confine: confine(null), minFree: null }), 500, { minFree: { path: '/srv/a', bytes: 500 } }],
    ['an rsync pull', exec({ confine: confine({ relative: false, operandsAt: 3 }), minFree: null }), 500, { minFree: null }],
    ['an exec rule (nothing to watch)', exec({ program: '/bin/true' }), 500, { confine: null }],
  ])('%s', (_, plan, floor, expected) => {
    expect(withFloor(plan, floor)).toMatchObject(expected);
    expect(withFloor(plan, null)).toBe(plan);
  });
});

describe('the policy keys', () => {
  const errorsOf = (yaml: string) => {
    const parsed = parsePolicyText('p.yaml', yaml);
    return parsed.ok ? [] : parsed.errors.map(formatPolicyError);
  };
  it('reads max-sessions, min-free and single-run', () => {
    const policy = policyFrom(
      'version: 1\nidentities:\n  a:\n    max-sessions: 3\n    min-free: 2GiB\n    rules:\n      - { name: r, rsync: { root: /srv, access: write, single-run: true } }\n',
    );
    const a = policy.identities.get('a')!;
    expect([a.maxSessions, a.minFreeBytes, a.rules[0]!.kind === 'rsync' && a.rules[0]!.singleRun]).toEqual([3, 2 ** 31, true]);
    const b = policyFrom('version: 1\nidentities:\n  b:\n    rules: []\n').identities.get('b')!;
    expect([b.maxSessions, b.minFreeBytes]).toEqual([null, null]);
  });
  it.each([
    [
      'max-sessions 0',
      '    max-sessions: 0\n',
      'p.yaml:4: identities.a.max-sessions: expected a number of sessions, a whole number from 1 to 10000, got number 0',
    ],
    ['max-sessions as a string', '    max-sessions: "2"\n', 'p.yaml:4: identities.a.max-sessions: expected a number of sessions'],
    ['a min-free that is no size', '    min-free: lots\n', 'p.yaml:4: identities.a.min-free: expected a size such as 20GiB'],
    [
      'min-free with an unsupervised push',
      '    min-free: 1GiB\n',
      'p.yaml:4: identities.a.min-free: rule r pushes with supervise: false',
      '{ root: /srv, access: write, supervise: false, min-free: "0" }',
    ],
    [
      'a single-run that is no boolean',
      '',
      'p.yaml:5: identities.a.rules[0].rsync.single-run: expected true or false, got "yes"',
      '{ root: /srv, access: write, single-run: "yes" }',
    ],
  ])('%s', (_, keys, message, rsync = '{ root: /srv, access: write }') => {
    expect(errorsOf(`version: 1\nidentities:\n  a:\n${keys}    rules:\n      - { name: r, rsync: ${rsync} }\n`)).toEqual([
      expect.stringContaining(message),
    ]);
  });
});
