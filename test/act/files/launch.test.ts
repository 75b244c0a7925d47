/**
 * The file server's launch description (act/files/launch.ts): one writer, one reader that checks
 * every field. The reader runs in a program with a client on its stdin: each hostile row must be
 * refused with a message that says what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { readLaunch, serialiseLaunch, type FilesLaunch } from '../../../src/act/files/launch.js';

const policy = {
  root: '/srv/r',
  access: 'read',
  delete: false,
  overwrite: false,
  umask: 0o022,
  minFreeBytes: 2 ** 30,
  idleTimeoutMs: 600_000,
} as const;
const scp = { direction: 'to-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path: 'in/' } as const;
const sftpLaunch: FilesLaunch = { protocol: 'sftp', policy };
const scpLaunch: FilesLaunch = {
  protocol: 'scp',
  policy: { ...policy, access: 'read-write', delete: true, overwrite: true, umask: 0, minFreeBytes: 0, idleTimeoutMs: 0 },
  scp: { ...scp, direction: 'from-server', recursive: true, preserveTimes: true, targetMustBeDir: true, path: '/a b' },
};
const text = (value: unknown) => JSON.stringify(value);

describe('serialiseLaunch, then readLaunch: the same launch', () => {
  it.each([
    ['sftp', sftpLaunch],
    ['scp', scpLaunch],
  ])('%s', (_name, launch) => expect(readLaunch(serialiseLaunch(launch))).toEqual({ ok: true, launch }));

  it('writes only the fields of a launch (a policy object with more is not passed on)', () => {
    const wider = { protocol: 'sftp', policy: { ...policy, sandbox: { home: '/home/x' } } } as unknown as FilesLaunch;
    expect(JSON.parse(serialiseLaunch(wider))).toEqual({ protocol: 'sftp', policy });
  });
});

describe('readLaunch takes', () => {
  it.each([
    ['an sftp launch', text({ protocol: 'sftp', policy })],
    ['an scp launch', text({ protocol: 'scp', policy, scp })],
    [
      'keys in any order',
      text({
        policy: { idleTimeoutMs: 0, minFreeBytes: 0, umask: 0o777, overwrite: true, delete: true, access: 'write', root: '/' },
        protocol: 'sftp',
      }),
    ],
  ])('%s', (_name, argument) => expect(readLaunch(argument).ok).toBe(true));
});

describe('readLaunch refuses, saying why', () => {
  const withPolicy = (change: Record<string, unknown>) => text({ protocol: 'sftp', policy: { ...policy, ...change } });
  const withScp = (change: Record<string, unknown>) => text({ protocol: 'scp', policy, scp: { ...scp, ...change } });
  it.each([
    ['not JSON', 'not json', /^not JSON$/],
    ['an array', '[]', /must be an object/],
    ['null', 'null', /must be an object/],
    ['a key it does not know', text({ protocol: 'sftp', policy, extra: 1 }), /unknown key "extra"/],
    ['no policy', text({ protocol: 'sftp' }), /has no policy/],
    ['another protocol', text({ protocol: 'shell', policy }), /protocol must be/],
    ['a relative root', withPolicy({ root: 'relative' }), /policy\.root/],
    ['a root with NUL', withPolicy({ root: '/srv\0/r' }), /policy\.root/],
    ['an unknown access', withPolicy({ access: 'all' }), /policy\.access/],
    ['delete as text', withPolicy({ delete: 'yes' }), /policy\.delete/],
    ['overwrite as a number', withPolicy({ overwrite: 1 }), /policy\.overwrite/],
    ['a umask past 0o777', withPolicy({ umask: 0o1000 }), /policy\.umask/],
    ['a negative umask', withPolicy({ umask: -1 }), /policy\.umask/],
    ['a policy key it does not know', withPolicy({ chown: true }), /unknown key "chown"/],
    ['a negative minFreeBytes', withPolicy({ minFreeBytes: -1 }), /policy\.minFreeBytes/],
    ['minFreeBytes as text', withPolicy({ minFreeBytes: '1GiB' }), /policy\.minFreeBytes/],
    ['a fractional idleTimeoutMs', withPolicy({ idleTimeoutMs: 1.5 }), /policy\.idleTimeoutMs/],
    ['no idleTimeoutMs', withPolicy({ idleTimeoutMs: undefined }), /has no idleTimeoutMs/],
    ['scp with sftp', text({ protocol: 'sftp', policy, scp }), /only for protocol "scp"/],
    ['scp without its transfer', text({ protocol: 'scp', policy }), /needs scp/],
    ['an empty scp path', withScp({ path: '' }), /scp\.path/],
    ['an scp path with NUL', withScp({ path: 'a\0b' }), /scp\.path/],
    ['an unknown direction', withScp({ direction: 'both' }), /scp\.direction/],
    ['recursive as text', withScp({ recursive: 'true' }), /scp\.recursive/],
    ['preserveTimes missing', withScp({ preserveTimes: undefined }), /has no preserveTimes/],
    ['targetMustBeDir as a number', withScp({ targetMustBeDir: 0 }), /scp\.targetMustBeDir/],
    ['an scp key it does not know', withScp({ shell: '/bin/sh' }), /unknown key "shell"/],
  ])('%s', (_name, argument, why) => {
    const read = readLaunch(argument);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error).toMatch(why);
  });
});
