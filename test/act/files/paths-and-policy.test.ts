/** The path contract and the policy checks, as tables; parseScpWords, with hostile rows (the launch argument: launch.test.ts). */
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientView, ConfinedRoot, mapToHost, normaliseClientPath } from '../../../src/act/files/confined-root.js';
import {
  existingOpen,
  newDirectoryMode,
  newFileMode,
  openRefusal,
  permittedMode,
  removeRefusal,
  renameRefusal,
  setstatRefusal,
  type FilePolicy,
} from '../../../src/act/files/policy.js';
import { parseScpWords } from '../../../src/rules/sftp/match.js';

describe('client paths', () => {
  it.each([
    ['', '/'],
    ['.', '/'],
    ['/', '/'],
    ['a', '/a'],
    ['/a/b/', '/a/b'],
    ['a//b/./c', '/a/b/c'],
    ['..', '/'],
    ['../../etc/passwd', '/etc/passwd'],
    ['/a/../../..', '/'],
    ['a/b/../c', '/a/c'],
    ['~', '/~'],
  ])('%j is %j', (path, normal) => expect(normaliseClientPath(path)).toBe(normal));

  it.each([
    ['/srv/r', '/', '/srv/r'],
    ['/srv/r', '/a', '/srv/r/a'],
    ['/', '/a', '/a'],
  ])('under %s, %s is %s on the host', (root, path, host) => expect(mapToHost(root, path)).toBe(host));

  it.each([
    ['/srv/r', '/srv/r', '/'],
    ['/srv/r', '/srv/r/a/b', '/a/b'],
    ['/srv/r', '/srv/rx', null],
    ['/srv/r', '/srv', null],
    ['/srv/r', '/etc/passwd', null],
  ])('under %s, host %s is %j to the client', (root, host, client) => expect(clientView(root, host)).toBe(client));
});

describe('ConfinedRoot on a real directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confined-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'f'), 'f');
  writeFileSync(join(dir, 'outside'), 'o');
  symlinkSync('../outside', join(root, 'out-rel'));
  symlinkSync(join(dir, 'outside'), join(root, 'out-abs'));
  symlinkSync('sub', join(root, 'in-dir'));
  symlinkSync('/etc', join(root, 'etc'));
  symlinkSync('missing-target', join(root, 'dangling'));
  const confined = new ConfinedRoot(root);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The check after every open (found in review: two sessions' renames swapped a directory for
  // a link out between the look and the open, and a read returned /etc/postgresql's pg_hba.conf).
  it.each([
    ['a file under root', () => join(root, 'sub', 'f'), true],
    ['root itself', () => root, true],
    ['a file opened through a link out of root', () => join(root, 'out-abs'), false],
    ['a file outside, by name', () => join(dir, 'outside'), false],
    ['a directory opened through a link to /etc', () => join(root, 'etc'), false],
  ])('holds: %s -> %s', (_name, path, inside) => {
    const fd = openSync(path(), constants.O_RDONLY);
    try {
      expect(confined.holds(fd)).toBe(inside);
    } finally {
      closeSync(fd);
    }
  });

  it.each([
    ['/sub/f', '/sub/f'],
    ['/in-dir/f', '/sub/f'],
    ['../../sub/f', '/sub/f'],
    ['/out-rel', 'outside'],
    ['/out-abs', 'outside'],
    ['/etc/passwd', 'outside'],
    ['/nope', 'missing'],
    ['/dangling', 'missing'],
  ])('existing(%s) is %j', (path, want) => {
    const found = confined.existing(path);
    expect(typeof found === 'string' ? found : found.client).toBe(want);
  });

  it.each([
    ['/out-abs', '/out-abs'],
    ['/in-dir/new', '/sub/new'],
    ['/etc/passwd', 'outside'],
    ['/nope/new', 'missing'],
  ])('entry(%s), the name itself in a resolved directory, is %j', (path, want) => {
    const found = confined.entry(path)!;
    expect(typeof found === 'string' ? found : found.client).toBe(want);
  });

  it.each([
    ['/sub/f', '/sub/f', true],
    ['/in-dir/f', '/sub/f', true],
    ['/new', '/new', false],
    ['/out-abs', 'outside', null],
    ['/dangling', 'outside', null],
  ])('target(%s) for a write is %j (exists: %j)', (path, want, exists) => {
    const found = confined.target(path);
    if (typeof found === 'string') expect(found).toBe(want);
    else expect([found.client, found.exists]).toEqual([want, exists]);
  });

  it.each([
    ['/in-dir', 'sub', '/sub'],
    ['/out-rel', '../outside', null],
    ['/etc', '/etc', null],
    ['/dangling', 'missing-target', '/missing-target'],
  ])('a link %s -> %s reads as %j', (link, raw, shown) => expect(confined.linkTarget(link, raw)).toBe(shown));
});

const policy = (over: Partial<FilePolicy> = {}): FilePolicy => ({
  root: '/r',
  access: 'read-write',
  delete: true,
  overwrite: true,
  umask: 0o022,
  minFreeBytes: 0,
  idleTimeoutMs: 0,
  ...over,
});
const intent = (flags: string) => ({
  read: flags.includes('r'),
  write: flags.includes('w'),
  append: flags.includes('a'),
  create: flags.includes('c'),
  truncate: flags.includes('t'),
  exclusive: flags.includes('x'),
});

describe('policy checks', () => {
  it.each([
    [{}, 'r', true, null],
    [{}, 'wct', true, null],
    [{ access: 'read' as const }, 'r', true, null],
    [{ access: 'read' as const }, 'wct', false, 'read-only'],
    [{ access: 'read' as const }, 'rw', true, 'read-only'],
    [{ access: 'write' as const }, 'r', true, 'write-only'],
    [{ access: 'write' as const }, 'wct', false, null],
    [{ access: 'write' as const }, 'rw', true, 'write-only'],
    [{ overwrite: false }, 'wct', false, null],
    [{ overwrite: false }, 'wct', true, 'no-overwrite'],
    [{ overwrite: false }, 'wa', true, 'no-overwrite'],
    [{ overwrite: false }, 'w', true, 'no-overwrite'],
    [{ overwrite: false }, 'r', true, null],
  ])('open under %j with %s (exists: %j): %j', (over, flags, exists, want) =>
    expect(openRefusal(policy(over), intent(flags), exists)).toBe(want),
  );

  const [none, own, stored] = ['none', 'own', 'stored'] as const;
  it.each([
    [{}, false, none, null],
    [{}, true, stored, null],
    [{ delete: false }, false, none, null],
    [{ delete: false }, false, stored, 'no-delete'],
    [{ overwrite: false }, false, stored, 'no-overwrite'],
    [{ overwrite: false }, false, none, null],
    [{ access: 'read' as const }, false, none, 'read-only'],
    // History's names: a stored file renamed away is a name removed; the session's own files come and go.
    [{ delete: false }, true, none, 'no-delete'],
    [{ delete: false, overwrite: false }, true, none, 'no-delete'],
    [{ overwrite: false }, true, none, null],
    [{ delete: false, overwrite: false }, false, own, null],
    [{ delete: false }, true, own, 'no-delete'],
  ])('rename under %j (source stored: %j, target: %s): %j', (over, sourceStored, target, want) =>
    expect(renameRefusal(policy(over), sourceStored, target)).toBe(want),
  );

  it.each([
    [{}, true, null],
    [{ delete: false }, true, 'no-delete'],
    [{ delete: false }, false, null],
    [{ access: 'read' as const }, false, 'read-only'],
  ])('remove under %j (stored: %j): %j', (over, stored, want) => expect(removeRefusal(policy(over), stored)).toBe(want));

  const file = (stored: boolean, links = 1) => ({ stored, links, directory: false });
  const dir = { stored: true, links: 5, directory: true };
  it.each([
    [{}, { permissions: 0o644 }, file(true), null],
    [{}, { uid: 0 }, file(false), 'chown'],
    [{}, { gid: 0 }, file(false), 'chown'],
    [{ overwrite: false }, { size: 0 }, file(true), 'no-overwrite'],
    [{ overwrite: false }, { size: 0 }, file(false), null],
    [{ access: 'read' as const }, { mtime: 1, atime: 1 }, file(false), 'read-only'],
    // History's attributes: as stored, unless the rule allows replacing and deleting, and never
    // on an inode other names share, nor its size (replacing is by a new inode).
    [{ overwrite: false }, { mtime: 1, atime: 1 }, file(true), 'no-overwrite'],
    [{ delete: false }, { permissions: 0 }, file(true), 'history'],
    [{ delete: false }, { permissions: 0 }, dir, 'history'],
    [{}, { size: 0 }, file(true), 'history'],
    [{}, { permissions: 0 }, file(true, 2), 'shared-inode'],
    [{}, { permissions: 0o700 }, dir, null],
    [{ delete: false, overwrite: false }, { permissions: 0, size: 0, mtime: 1, atime: 1 }, file(false, 1), null],
    [{ delete: false, overwrite: false }, {}, file(true), null],
  ])('setstat under %j of %j (%j): %j', (over, change, inode, want) => expect(setstatRefusal(policy(over), change, inode)).toBe(want));

  it.each([
    [{}, 'wct', false, 'in-place'],
    [{ overwrite: false }, 'wa', false, 'in-place'],
    [{}, 'wct', true, 'replace'],
    [{}, 'wt', true, 'replace'],
    [{}, 'wca', true, 'copy'],
    [{}, 'w', true, 'copy'],
    [{}, 'rw', true, 'copy'],
    [{}, 'rwa', true, 'copy'],
    [{}, 'wcta', true, 'copy'],
    [{ overwrite: false }, 'wct', true, 'no-overwrite'],
    [{ overwrite: false }, 'rw', true, 'no-overwrite'],
  ])('a write open of an existing file under %j with %s (stored: %j): %s', (over, flags, stored, want) =>
    expect(existingOpen(policy(over), intent(flags), stored)).toBe(want),
  );

  it('modes: permission bits only, less the umask', () => {
    expect(permittedMode(policy(), 0o4777)).toBe(0o755);
    expect(permittedMode(policy({ umask: 0o077 }), 0o7666)).toBe(0o600);
    expect(newFileMode(policy(), undefined)).toBe(0o644);
    expect(newDirectoryMode(policy(), undefined)).toBe(0o755);
    expect(newDirectoryMode(policy({ umask: 0 }), 0o1777)).toBe(0o777);
  });
});

describe('parseScpWords', () => {
  const base = { recursive: false, preserveTimes: false, targetMustBeDir: false };
  it.each([
    [['scp', '-t', 'dir'], { ...base, direction: 'to-server', path: 'dir' }],
    [['scp', '-f', '--', '-odd'], { ...base, direction: 'from-server', path: '-odd' }],
    [
      ['scp', '-v', '-r', '-p', '-d', '-t', '--', '/x'],
      { direction: 'to-server', recursive: true, preserveTimes: true, targetMustBeDir: true, path: '/x' },
    ],
    [['scp', '-prf', 'a b'], { ...base, recursive: true, preserveTimes: true, direction: 'from-server', path: 'a b' }],
  ])('%j', (words, want) => expect(parseScpWords(words)).toEqual(want));

  it.each([
    [['scp', '-S', 'prog', '-t', 'x']],
    [['scp', '-oProxyCommand=x', '-t', 'x']],
    [['scp', '-F', 'cfg', '-f', 'x']],
    [['scp', '-t', 'a', 'b']],
    [['scp', '-t', '-f', 'x']],
    [['scp', '-tf', 'x']],
    [['scp', 'x']],
    [['scp', '-t']],
    [['ssh', '-t', 'x']],
    [['scp', '-3', '-t', 'x']],
    [['scp', '-t', '']],
    [['scp', '-r', '--', '-t', 'x']],
    [['scp', '-t', 'x\0y']],
    [[]],
  ])('refuses %j', (words) => expect(typeof parseScpWords(words)).toBe('string'));
});
