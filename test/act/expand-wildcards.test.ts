/** Wildcard expansion of rsync pull paths, on a real directory tree: inside root, like sh. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandInRoot } from '../../src/act/expand-wildcards.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ssh-dispatch-glob-'));
  mkdirSync(join(root, 'logs', 'old'), { recursive: true });
  mkdirSync(join(root, 'my dir'));
  for (const f of ['logs/a.gz', 'logs/b.gz', 'logs/c.txt', 'logs/.hidden.gz', 'logs/old/d.gz', 'my dir/x.txt', 'a*b1', 'a-b2']) writeFileSync(join(root, f), f);
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
    expect(expandInRoot(root, pattern)).toEqual(expected);
  });

  it('matches dotfiles only for a pattern that starts with ".", and never "." or ".."', () => {
    expect(expandInRoot(root, 'logs/*')).not.toContain('logs/.hidden.gz');
    expect(expandInRoot(root, 'logs/.*')).toEqual(['logs/.hidden.gz']);
    expect(expandInRoot(root, '.*')).toEqual(['.*']);
  });
});
