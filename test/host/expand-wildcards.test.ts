/** Wildcard expansion of rsync pull paths, on a real directory tree: inside root, like sh. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpansionBudget, expandInRoot } from '../../src/host/expand-wildcards.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ssh-dispatch-glob-'));
  mkdirSync(join(root, 'logs', 'old'), { recursive: true });
  mkdirSync(join(root, 'my dir'));
  for (const f of ['logs/a.gz', 'logs/b.gz', 'logs/c.txt', 'logs/.hidden.gz', 'logs/old/d.gz', 'my dir/x.txt', 'a*b1', 'a-b2'])
    writeFileSync(join(root, f), f);
  symlinkSync('/etc', join(root, 'logs', 'link.gz'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('expandInRoot', () => {
  it.each([
    ['logs/*.gz', ['logs/a.gz', 'logs/b.gz', 'logs/link.gz']],
    ['logs/?.txt', ['logs/c.txt']],
    ['logs/[ab].gz', ['logs/a.gz', 'logs/b.gz']],
    ['*/*.txt', ['logs/c.txt', 'my dir/x.txt']],
    ['logs/*/', ['logs/link.gz/', 'logs/old/']], // as in sh, a symlink to a directory matches; the confine check then refuses it
    ['logs/*/*.gz', ['logs/old/d.gz']],
    ['my dir/*', ['my dir/x.txt']],
    ['a\\*b?', ['a*b1']],
    ['logs/*.zip', ['logs/*.zip']], // no match: passed on as it is, like sh
    ['*', ['a*b1', 'a-b2', 'logs', 'my dir']],
  ])('%s → %j', (pattern, expected) => {
    expect(expandInRoot(root, pattern)).toEqual({ ok: true, paths: expected });
  });

  it('matches dotfiles only for a pattern that starts with ".", and never "." or ".."', () => {
    expect(expandInRoot(root, 'logs/*')).toMatchObject({ ok: true });
    expect(paths('logs/*')).not.toContain('logs/.hidden.gz');
    expect(paths('logs/.*')).toEqual(['logs/.hidden.gz']);
    expect(paths('.*')).toEqual(['.*']);
  });
});

function paths(pattern: string): string[] {
  const expansion = expandInRoot(root, pattern);
  if (!expansion.ok) throw new Error(expansion.detail);
  return expansion.paths;
}

describe('expandInRoot is bounded', () => {
  let wide: string;
  beforeAll(() => {
    wide = mkdtempSync(join(tmpdir(), 'ssh-dispatch-glob-wide-'));
    for (let i = 0; i < 50; i++) writeFileSync(join(wide, `f${String(i).padStart(3, '0')}${'Z'.repeat(200)}`), '');
  });
  afterAll(() => rmSync(wide, { recursive: true, force: true }));

  it.each([
    ['count', { maxMatches: 10 }, 'matches'],
    ['directory entries read', { maxNamesRead: 20 }, 'names-read'],
    // A clock that jumps 1 s per reading: the deadline passes on the first names.
    ['time', { deadlineMs: 1500, clock: jumpingClock() }, 'time'],
  ] as const)('by %s', (_, limits, bound) => {
    expect(expandInRoot(wide, '*', new ExpansionBudget(limits))).toMatchObject({ ok: false, bound });
  });

  it('with one budget across the wildcards of a request (a pull may send 4000 of them)', () => {
    const budget = new ExpansionBudget({ maxNamesRead: 120 });
    expect(expandInRoot(wide, 'f00*', budget)).toMatchObject({ ok: true });
    expect(expandInRoot(wide, 'f01*', budget)).toMatchObject({ ok: true });
    expect(expandInRoot(wide, 'f02*', budget)).toMatchObject({ ok: false, bound: 'names-read' });
  });

  it('matches a crafted ?*?*...Z pattern against long names in milliseconds (issue 14: over 60 s)', () => {
    const pattern = '?*'.repeat(100) + 'Y';
    const started = performance.now();
    expect(expandInRoot(wide, pattern)).toEqual({ ok: true, paths: [pattern] });
    expect(performance.now() - started).toBeLessThan(500);
  });
});

function jumpingClock(): () => number {
  let t = 0;
  return () => (t += 1000);
}
