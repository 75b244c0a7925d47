/**
 * What a plain push could change of stored history, looked at before it starts
 * (host/stored-history.ts), and the stored directories put back after it (act/stored-directories.ts).
 */
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreDirectories } from '../../src/act/stored-directories.js';
import { sharedInodeOutside, storedDirectories } from '../../src/host/stored-history.js';
import type { StoredDirectory } from '../../src/rules/plan.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stored-history-'));
  mkdirSync(join(dir, 'day1', 'etc'), { recursive: true });
  mkdirSync(join(dir, 'day2', 'etc'), { recursive: true });
  writeFileSync(join(dir, 'day1', 'etc', 'passwd'), 'x\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('sharedInodeOutside (overwrite: true)', () => {
  it('refuses a destination holding a file hard-linked from another snapshot', () => {
    linkSync(join(dir, 'day1', 'etc', 'passwd'), join(dir, 'day2', 'etc', 'passwd'));
    expect(sharedInodeOutside(join(dir, 'day2'))).toMatchObject({
      reason: 'rsync-destination-shares-inodes',
      detail: expect.stringContaining('day2/etc/passwd is hard-linked from outside'),
    });
    // The parent holds both links: nothing of it is shared with anything outside.
    expect(sharedInodeOutside(dir)).toBeNull();
  });

  it("takes hard links among the destination's own files (rsync -H) and a new destination", () => {
    linkSync(join(dir, 'day1', 'etc', 'passwd'), join(dir, 'day1', 'passwd-copy'));
    expect(sharedInodeOutside(join(dir, 'day1'))).toBeNull();
    expect(sharedInodeOutside(join(dir, 'day3'))).toBeNull();
  });

  it('refuses a destination too large to check, rather than pushing into it unchecked', () => {
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'day2', `f${i}`), '');
    expect(sharedInodeOutside(join(dir, 'day2'), 3)).toMatchObject({ reason: 'rsync-destination-unchecked' });
    expect(storedDirectories(join(dir, 'day2'), 3)).toMatchObject({ reason: 'rsync-destination-unchecked' });
    expect(sharedInodeOutside(join(dir, 'day2'), 100)).toBeNull();
  });
});

describe('storedDirectories and restoreDirectories (overwrite: false)', () => {
  it('notes every directory, and puts back a mode and mtime changed since', () => {
    const old = new Date('2026-01-01T00:00:00Z');
    chmodSync(join(dir, 'day1', 'etc'), 0o755);
    utimesSync(join(dir, 'day1', 'etc'), old, old);
    const dirs = storedDirectories(join(dir, 'day1')) as StoredDirectory[];
    expect(dirs.map((d) => d.path)).toEqual([join(dir, 'day1'), join(dir, 'day1', 'etc')]);

    chmodSync(join(dir, 'day1', 'etc'), 0o000);
    const then = new Date('1980-01-01T00:00:00Z');
    utimesSync(join(dir, 'day1', 'etc'), then, then);
    expect(restoreDirectories(dirs)).toEqual([join(dir, 'day1', 'etc')]);
    expect(statSync(join(dir, 'day1', 'etc')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dir, 'day1', 'etc')).mtime.toISOString()).toBe(old.toISOString());
    // Nothing changed since: nothing to put back.
    expect(restoreDirectories(dirs)).toEqual([]);
  });

  it('leaves a name that now leads to another inode alone', () => {
    const dirs = storedDirectories(join(dir, 'day1')) as StoredDirectory[];
    rmSync(join(dir, 'day1', 'etc'), { recursive: true });
    mkdirSync(join(dir, 'day1', 'etc'), { mode: 0o700 });
    expect(restoreDirectories(dirs)).not.toContain(join(dir, 'day1', 'etc'));
    expect(statSync(join(dir, 'day1', 'etc')).mode & 0o7777).toBe(0o700);
  });
});
