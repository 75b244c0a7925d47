/**
 * Attacks on what keys serve, by someone who is not root (found in review): each shown with a
 * control. The state root `.ssh-dispatch-applied` holds every policy's versions of a directory;
 * one its group may write (a chmod g+w slip) lets a member rename one policy's state over
 * another's, and the keys of the first then serve the second (root applied it, for other keys).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { narrowAccess } from '../../src/policy/applied/narrow.js';
import { loadServed } from '../../src/policy/load.js';
import { applyFiles, stateDir } from './apply-fixture.js';

let dir: string;
const policyOf = (id: string, program: string) =>
  `version: 1\nidentities:\n  ${id}:\n    rules:\n      - name: t\n        exec: { command: "${program}" }\n`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-attacks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the state root is trusted like the state below it', () => {
  async function twoPolicies(): Promise<{ a: string; b: string }> {
    const a = join(dir, 'a.yml');
    const b = join(dir, 'b.yml');
    // The same identity in both: a narrow one for A's keys, a broad one for B's.
    writeFileSync(a, policyOf('x', '/bin/true'), { mode: 0o644 });
    writeFileSync(b, policyOf('x', '/bin/sh'), { mode: 0o644 });
    await applyFiles(a);
    await applyFiles(b);
    return { a, b };
  }

  function swap(stateA: string, stateB: string): void {
    renameSync(stateA, `${stateA}.old`);
    renameSync(stateB, stateA);
  }

  it('control: a state root only root may write serves each policy its own version', async () => {
    const { a } = await twoPolicies();
    const served = await loadServed(a, 'x');
    expect(served.ok && served.policy.identities.get('x')!.rules[0]).toMatchObject({ program: '/bin/true' });
  });

  it('writable by others: refused, never the other policy swapped in', async () => {
    const { a, b } = await twoPolicies();
    const [stateA, stateB] = [stateDir(a), stateDir(b)];
    chmodSync(dirname(stateA), 0o777);
    // What a member of the group (or anyone, here) may then do without owning anything in it.
    swap(stateA, stateB);
    const served = await loadServed(a, 'x');
    expect(served.ok && served.policy.identities.get('x')!.rules[0]).not.toMatchObject({ program: '/bin/sh' });
    expect(served).toMatchObject({ ok: false });
    expect(!served.ok && served.errors[0]!.message).toMatch(/\.ssh-dispatch-applied is writable by group or others/);
  });

  it('a symbolic link: refused', async () => {
    const { a } = await twoPolicies();
    const root = dirname(stateDir(a));
    renameSync(root, join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), root);
    expect(await loadServed(a, 'x')).toMatchObject({ ok: false });
  });
});

describe('the last version number', () => {
  it('an apply past it is refused, and the served version stays served (not a current no reader believes)', async () => {
    const a = join(dir, 'a.yml');
    writeFileSync(a, policyOf('x', '/bin/true'), { mode: 0o644 });
    await applyFiles(a);
    // A version directory with the highest number a reader takes (copied in by hand, restored from a backup).
    mkdirSync(join(stateDir(a), 'v', '999999999'));
    // The control: the served version is served.
    expect(await loadServed(a, 'x')).toMatchObject({ ok: true, version: 1 });
    writeFileSync(a, policyOf('x', '/bin/false'), { mode: 0o644 });
    await expect(applyFiles(a)).rejects.toThrow(/no version number is left/);
    expect(await loadServed(a, 'x')).toMatchObject({ ok: true, version: 1 });
  });
});

describe('one apply at a time', () => {
  /** A pid no process has (an apply that died). */
  function deadPid(): number {
    for (let pid = 4_194_303; pid > 1; pid--) {
      try {
        process.kill(pid, 0);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
      }
    }
    throw new Error('no free pid');
  }

  async function served(): Promise<{ a: string; state: string }> {
    const a = join(dir, 'a.yml');
    writeFileSync(a, policyOf('x', '/bin/true'), { mode: 0o644 });
    await applyFiles(a);
    writeFileSync(a, policyOf('x', '/bin/false'), { mode: 0o644 });
    return { a, state: stateDir(a) };
  }

  it('another apply running: refused, and says which (two at once could serve the older one last)', async () => {
    const { a, state } = await served();
    writeFileSync(join(state, '.lock'), `${process.pid}\n`);
    await expect(applyFiles(a)).rejects.toThrow(new RegExp(`another apply \\(pid ${process.pid}\\) is running`));
    expect(await loadServed(a, 'x')).toMatchObject({ ok: true, version: 1 });
  });

  it('a lock from before the last boot is taken over, though its pid runs again (another process now)', async () => {
    const { a, state } = await served();
    const lock = join(state, '.lock');
    writeFileSync(lock, `${process.pid}\n`);
    utimesSync(lock, 1000, 1000);
    expect(await applyFiles(a)).toMatchObject({ version: 2 });
  });

  it('the lock of an apply that died is taken over (the control: applied, and the lock is gone after)', async () => {
    const { a, state } = await served();
    writeFileSync(join(state, '.lock'), `${deadPid()}\n`);
    expect(await applyFiles(a)).toMatchObject({ version: 2 });
    expect(await loadServed(a, 'x')).toMatchObject({ ok: true, version: 2 });
    expect(existsSync(join(state, '.lock'))).toBe(false);
  });
});

describe('a chmod g+w slip of the policy directory reaches every key (docs/changing-policy.md says so)', () => {
  it('refused until undone: whoever may write it may replace the versions in it (the control: a file slip serves on)', async () => {
    const policyDir = join(dir, 'policies');
    mkdirSync(policyDir, { mode: 0o755 });
    const main = join(policyDir, 'main.yaml');
    writeFileSync(main, policyOf('x', '/bin/true'), { mode: 0o644 });
    await applyFiles(policyDir);
    chmodSync(main, 0o664);
    expect(await loadServed(policyDir, 'x')).toMatchObject({ ok: true, version: 1 });
    chmodSync(main, 0o644);
    chmodSync(policyDir, 0o775);
    const served = await loadServed(policyDir, 'x');
    expect(!served.ok && served.errors[0]!.message).toMatch(/policy directory is writable by group or others/);
    chmodSync(policyDir, 0o755);
    expect(await loadServed(policyDir, 'x')).toMatchObject({ ok: true, version: 1 });
  });
});

describe('a policy file in a directory anyone may add to (sticky, like /tmp)', () => {
  const ACCOUNT = 65534;

  /** The policy root applied, then its state as the account would have made it before root's first apply: its own. */
  async function plantedBy(owner: number): Promise<string> {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const a = join(shared, 'p.yml');
    // What the account would like its keys to serve, applied here only to have its shape.
    writeFileSync(a, policyOf('x', '/bin/sh'), { mode: 0o644 });
    await applyFiles(a);
    writeFileSync(a, policyOf('x', '/bin/true'), { mode: 0o644 });
    chownTree(join(shared, '.ssh-dispatch-applied'), owner);
    return a;
  }

  function chownTree(path: string, owner: number): void {
    chownSync(path, owner, owner);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), owner);
  }

  it("the account's own state is not believed, even by its own connections", async () => {
    const a = await plantedBy(ACCOUNT);
    const served = await loadServed(a, 'x', { uid: ACCOUNT });
    expect(served.ok && served.policy.identities.get('x')!.rules[0]).not.toMatchObject({ program: '/bin/sh' });
    expect(!served.ok && served.errors[0]!.message).toMatch(/owned by uid 65534, not by root or the owner of/);
  });

  it("the control: the state root made (it owns the directory), the account's connections serve it", async () => {
    const a = await plantedBy(0);
    expect(await loadServed(a, 'x', { uid: ACCOUNT })).toMatchObject({ ok: true, version: 1 });
  });
});

describe('older versions are never readable by more than the files now are', () => {
  const modes = (state: string, version: number) => {
    const at = join(state, 'v', String(version));
    return [at, join(at, 'src'), join(at, 'src', '0'), join(at, 'version.json')].map((path) => statSync(path).mode & 0o777);
  };

  it('a chmod o-r and apply: the versions applied before it are narrowed too (what it hid stays hidden)', async () => {
    const a = join(dir, 'a.yml');
    writeFileSync(a, policyOf('x', '/bin/secret-host-name'), { mode: 0o644 });
    await applyFiles(a);
    const state = stateDir(a);
    expect(modes(state, 1)).toEqual([0o755, 0o755, 0o644, 0o644]);
    writeFileSync(a, policyOf('x', '/bin/true'), { mode: 0o600 });
    chmodSync(a, 0o600);
    await applyFiles(a);
    expect(modes(state, 2)).toEqual([0o700, 0o700, 0o600, 0o600]);
    expect(modes(state, 1)).toEqual([0o700, 0o700, 0o600, 0o600]);
    // The control: a chmod that lets more read widens no older version.
    chmodSync(a, 0o644);
    await applyFiles(a);
    expect(modes(state, 3)).toEqual([0o755, 0o755, 0o644, 0o644]);
    expect(modes(state, 1)).toEqual([0o700, 0o700, 0o600, 0o600]);
  });
});

describe('narrowAccess: everyone both let read', () => {
  const PUBLIC = { fileMode: 0o644, dirMode: 0o755, gid: null };
  const PRIVATE = { fileMode: 0o600, dirMode: 0o700, gid: null };
  const group = (gid: number) => ({ fileMode: 0o640, dirMode: 0o750, gid });
  it.each([
    ['public, now public', PUBLIC, PUBLIC, PUBLIC],
    ['public, now a group', PUBLIC, group(7), group(7)],
    ['public, now private', PUBLIC, PRIVATE, PRIVATE],
    ['a group, now public (never widened)', group(7), PUBLIC, group(7)],
    ['a group, now the same group', group(7), group(7), group(7)],
    ['a group, now another group', group(7), group(8), PRIVATE],
    ['private, now public (never widened)', PRIVATE, PUBLIC, PRIVATE],
    ['private, now a group', PRIVATE, group(7), PRIVATE],
  ])('%s', (_name, old, now, expected) => {
    expect(narrowAccess(old, now)).toEqual(expected);
  });
});
