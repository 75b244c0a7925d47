/** Retention prunes only what the rule stores, keeping the newest N. */
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pruneUploads } from '../../src/act/retention.js';
import { templatePattern } from '../../src/rules/receive/match.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-retention-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ageDays: number): void {
  writeFileSync(join(dir, name), name);
  const t = new Date(Date.now() - ageDays * 86_400_000);
  utimesSync(join(dir, name), t, t);
}

it('keeps the newest N of the rule, and nothing else is touched', () => {
  for (let d = 1; d <= 6; d++) file(`backup-2026-11-${String(10 + d).padStart(2, '0')}-010000.tar.gz`, 10 - d);
  file('backup-2026-11-16-010000-1.tar.gz', 3.5);
  file('notes.txt', 30);
  file('backup-manual.tar.gz', 30);
  file('.receive-1-ab.part', 30);
  file('client-old.tar.gz', 40);
  symlinkSync('/etc/passwd', join(dir, 'backup-2026-01-01-000000.tar.gz'));
  const pruned = pruneUploads(dir, 3, { pattern: templatePattern('backup-{timestamp}.tar.gz', 'h'), clientName: 'client-*.tar.gz' }, 'backup-2026-11-16-010000.tar.gz');
  expect(readdirSync(dir).sort()).toEqual([
    '.receive-1-ab.part',
    'backup-2026-01-01-000000.tar.gz',
    'backup-2026-11-15-010000.tar.gz',
    'backup-2026-11-16-010000-1.tar.gz',
    'backup-2026-11-16-010000.tar.gz',
    'backup-manual.tar.gz',
    'notes.txt',
  ]);
  expect(pruned.sort()).toEqual(['backup-2026-11-11-010000.tar.gz', 'backup-2026-11-12-010000.tar.gz', 'backup-2026-11-13-010000.tar.gz', 'backup-2026-11-14-010000.tar.gz', 'client-old.tar.gz']);
  expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
});
