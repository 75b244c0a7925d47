/**
 * Retention prunes only what the rule stores, keeping the newest N and everything younger than
 * the window; the window is what a flood of junk uploads cannot get past.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneUploads, storedWithin, toPrune, type Stored } from '../../src/act/retention.js';
import { templatePattern } from '../../src/rules/receive/match.js';

const DAY = 86_400_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-retention-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ageDays: number): void {
  writeFileSync(join(dir, name), name);
  const t = new Date(Date.now() - ageDays * DAY);
  utimesSync(join(dir, name), t, t);
}

const retention = (windowMs: number) => ({
  pattern: templatePattern('backup-{timestamp}.tar.gz', 'h'),
  clientName: 'client-*.tar.gz',
  windowMs,
  maxUploads: null,
});

it('keeps the newest N of the rule, and nothing else is touched (no window)', () => {
  for (let d = 1; d <= 6; d++) file(`backup-2026-11-${String(10 + d).padStart(2, '0')}-010000.tar.gz`, 10 - d);
  file('backup-2026-11-16-010000-1.tar.gz', 3.5);
  file('notes.txt', 30);
  file('backup-manual.tar.gz', 30);
  file('.receive-1-ab.part', 30);
  file('client-old.tar.gz', 40);
  symlinkSync('/etc/passwd', join(dir, 'backup-2026-01-01-000000.tar.gz'));
  const pruned = pruneUploads(dir, 3, retention(0), 'backup-2026-11-16-010000.tar.gz');
  expect(readdirSync(dir).sort()).toEqual([
    '.receive-1-ab.part',
    'backup-2026-01-01-000000.tar.gz',
    'backup-2026-11-15-010000.tar.gz',
    'backup-2026-11-16-010000-1.tar.gz',
    'backup-2026-11-16-010000.tar.gz',
    'backup-manual.tar.gz',
    'notes.txt',
  ]);
  expect(pruned.sort()).toEqual([
    'backup-2026-11-11-010000.tar.gz',
    'backup-2026-11-12-010000.tar.gz',
    'backup-2026-11-13-010000.tar.gz',
    'backup-2026-11-14-010000.tar.gz',
    'client-old.tar.gz',
  ]);
  expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
});

it('a flood of N+1 junk uploads removes the real upload without a window, and not within one', () => {
  const flood = () => {
    file('backup-2026-11-01-010000.tar.gz', 1); // the real upload, a day old
    for (let i = 0; i < 4; i++) file(`backup-2026-11-02-01000${i}.tar.gz`, 0.001 * (4 - i));
  };
  flood();
  // Control: today's count-only retention.
  expect(pruneUploads(dir, 3, retention(0), 'backup-2026-11-02-010003.tar.gz')).toContain('backup-2026-11-01-010000.tar.gz');
  rmSync(dir, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-retention-'));
  flood();
  expect(pruneUploads(dir, 3, retention(3 * DAY), 'backup-2026-11-02-010003.tar.gz')).toEqual([]);
  expect(existsSync(join(dir, 'backup-2026-11-01-010000.tar.gz'))).toBe(true);
});

describe('toPrune', () => {
  const now = 100 * DAY;
  const at = (name: string, ageDays: number): Stored => ({ name, mtimeMs: now - ageDays * DAY });
  const files = [at('a', 0.1), at('b', 0.5), at('c', 1.5), at('d', 3), at('e', 10), at('f', 20)];
  it.each([
    // keep, window (days), just stored, removed
    [3, 0, 'a', ['d', 'e', 'f']],
    [1, 0, 'a', ['b', 'c', 'd', 'e', 'f']],
    [3, 2, 'a', ['d', 'e', 'f']],
    [1, 2, 'a', ['d', 'e', 'f']],
    [1, 5, 'a', ['e', 'f']],
    [1, 30, 'a', []],
    [6, 0, 'a', []],
    [2, 0, 'f', ['b', 'c', 'd', 'e']], // the one just stored is the newest whatever its clock
    [2, 5, 'f', ['e']],
  ] as const)('keep %i within %id, %s just stored: removes %j', (keep, windowDays, justStored, removed) => {
    expect(toPrune(files, keep, windowDays * DAY, now, justStored).sort()).toEqual([...removed]);
  });

  it.each([
    [0.2, 1],
    [1, 2],
    [2, 3],
    [30, 6],
  ] as const)('storedWithin %id counts %i', (days, count) => {
    expect(storedWithin(files, days * DAY, now)).toBe(count);
  });
});
