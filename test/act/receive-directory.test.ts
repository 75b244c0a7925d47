/**
 * Where uploads and rule directories may be: not only "not writable by others" (the old test)
 * but owned by root or the account, and not writable by a group; the same answer for the
 * receiver (act/receive.ts) and for check (cli/check.ts).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uploadDirectoryProblem } from '../../src/act/receive.js';
import { untrustedWriter } from '../../src/trust.js';
import { statSync } from 'node:fs';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-upload-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid!();
const asRoot = uid === 0;

function directory(name: string, mode: number, owner?: number): string {
  const path = join(dir, name);
  mkdirSync(path);
  chmodSync(path, mode);
  if (owner !== undefined) chownSync(path, owner, owner);
  return path;
}

describe('uploadDirectoryProblem', () => {
  it('an own directory, mode 0700 or 0755: none', () => {
    expect(uploadDirectoryProblem(directory('own', 0o700))).toBeNull();
    expect(uploadDirectoryProblem(directory('own-755', 0o755))).toBeNull();
  });

  it('writable by its group: refused', () => {
    expect(uploadDirectoryProblem(directory('group', 0o770))).toMatch(/is writable by group or others \(mode 0770\)/);
  });

  it('writable by others: refused', () => {
    expect(uploadDirectoryProblem(directory('others', 0o777))).toMatch(/is writable by group or others/);
  });

  it.runIf(asRoot)('owned by another account that is not root: refused, naming the owner', () => {
    expect(uploadDirectoryProblem(directory('nobody', 0o755, 65534))).toMatch(/is owned by uid 65534, not by root or the running user/);
  });

  it.runIf(asRoot)('owned by root and closed to others: none, for any account', () => {
    expect(uploadDirectoryProblem(directory('roots', 0o755, 0), 4242)).toBeNull();
  });

  it('a symlink to a directory: refused', () => {
    symlinkSync(directory('target', 0o700), join(dir, 'link'));
    expect(uploadDirectoryProblem(join(dir, 'link'))).toMatch(/is not a directory \(or is a symlink\)/);
  });

  it('check uses the same test for rule directories', () => {
    expect(untrustedWriter(statSync(directory('group-for-check', 0o770)), uid)).toMatch(/writable by group or others/);
  });
});
