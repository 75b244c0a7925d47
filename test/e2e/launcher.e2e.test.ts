/**
 * The launcher's compile cache: V8 code is code, so it is used only from a directory as trusted
 * as ssh-dispatch itself, one per account. Node says what it does with its cache when
 * NODE_DEBUG_NATIVE=COMPILE_CACHE is set; these tests read that.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE, NODE } from './lab.js';

let dir: string;
const uid = process.getuid!();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-launcher-'));
  copyFileSync(BUNDLE, join(dir, 'ssh-dispatch.cjs'));
  copyFileSync(BUNDLE.replace(/ssh-dispatch\.cjs$/, 'ssh-dispatch-core.cjs'), join(dir, 'ssh-dispatch-core.cjs'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function help(): string {
  const result = spawnSync(NODE, [join(dir, 'ssh-dispatch.cjs'), '--help'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } });
  expect(result.status, result.stderr).toBe(0);
  return result.stderr;
}

/** What an installer (or, for root, the launcher itself) makes. */
function ownCacheDir(): string {
  const own = join(dir, '.compile-cache', String(uid));
  mkdirSync(own, { recursive: true, mode: 0o700 });
  chmodSync(join(dir, '.compile-cache'), 0o755);
  return own;
}

describe('the compile cache', () => {
  it('is used from the account’s own directory, and read back on the next start', () => {
    const own = ownCacheDir();
    expect(help()).toContain(`creating cache directory ${own}/`);
    expect(help()).toMatch(new RegExp(`reading cache from ${own}/.*success`));
  });

  it('is created by the launcher for root', () => {
    if (uid !== 0) return expect(help()).not.toContain('[compile cache]');
    expect(help()).toContain(`creating cache directory ${join(dir, '.compile-cache', '0')}/`);
  });

  it.each([
    ['the account’s directory is writable by others', (own: string) => chmodSync(own, 0o777)],
    ['the account’s directory is writable by its group', (own: string) => chmodSync(own, 0o770)],
    ['the parent is writable by others', () => chmodSync(join(dir, '.compile-cache'), 0o777)],
  ])('is not used when %s', (_what, spoil) => {
    spoil(ownCacheDir());
    expect(help()).not.toContain('[compile cache]');
  });
});
