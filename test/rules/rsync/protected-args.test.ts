/** rsync -s (BackupPC's default): the arguments sent on the connection, read and vetted like command words. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import { protectedArgsFlag, splitProtectedArgs, withProtectedArgs } from '../../../src/rules/rsync/protected-args.js';
import { execPlan, policyFrom, requestFor } from '../../helpers.js';

const nul = (...args: string[]) => Buffer.from(`${args.join('\0')}\0\0`);

describe('protectedArgsFlag', () => {
  it.each([
    [['rsync', '--server', '-slogDtpre.iLsfxCIvu'], 2],
    [['rsync', '--server', '--sender', '-slogDtpre.iLsfxCIvu'], 3],
    [['rsync', '--server', '-logDtpsre.iLsfxCIvu'], 2],
    [['rsync', '--server', '--protect-args', '-logDtpre.iLsfxCIvu'], 2],
    [['rsync', '--server', '-logDtpre.iLsfxCIvu', '.', 'x/'], null], // the s after e is a capability
    [['rsync', '--server', '-e.Lsfx', '.', 'x/'], null],
    [['ls', '-s'], null],
    [['rsync', '-s', '--server'], null],
    [['sudo', '-n', '/usr/bin/rsync', '--server', '--sender', '-slogDtpre.iLsfxCIvu'], 5], // BackupPC's sudo spelling
    [['sudo', '--server', '-s'], null],
  ])('%j -> %s', (words, at) => {
    expect(protectedArgsFlag(words)).toBe(at);
  });
});

describe('splitProtectedArgs', () => {
  it('reads NUL-terminated arguments up to the empty one', () => {
    expect(splitProtectedArgs(nul('rsync', '--numeric-ids', '.', 'a b/'))).toEqual(['rsync', '--numeric-ids', '.', 'a b/']);
  });
  it('asks for more until the empty one has come', () => {
    expect(splitProtectedArgs(Buffer.from('rsync\0.\0'))).toBe('more');
    expect(splitProtectedArgs(Buffer.from('rsync\0.'))).toBe('more');
  });
  it('refuses more than 64 KiB', () => {
    expect(splitProtectedArgs(Buffer.alloc(70 * 1024, 0x61))).toBe('too-long');
  });
});

describe('withProtectedArgs and the decision', () => {
  const B = '-slogDtpre.iLsfxCIvu';
  const policy = policyFrom(`
version: 1
identities:
  bpc: { rules: [ { name: share, rsync: { root: /srv/data, access: read } } ] }
  w: { rules: [ { name: push, rsync: { root: /srv/backup, access: write } } ] }
`);
  const decideWith = (id: string, command: string, args: string[]) => decide(policy, requestFor(id, command, { protectedArgs: args }));

  it('BackupPC’s pull of a share with spaces: the plan runs rsync without -s, every argument on its command line', () => {
    const plan = execPlan(decideWith('bpc', `rsync --server --sender ${B}`, ['rsync', '--numeric-ids', '--perms', '.', '/My Documents/']));
    expect(plan.argv).toEqual(
      expect.arrayContaining(['--server', '--sender', '-logDtpre.iLsfxCIvu', '--numeric-ids', '--perms', '.', 'My Documents/']),
    );
    expect(plan.argv.join(' ')).not.toMatch(/ -s| --protect-args/);
  });

  it('behind BackupPC’s `sudo /usr/bin/rsync`: the wrapper is read as a spelling, the arguments as ever', () => {
    const decision = decideWith('bpc', `sudo /usr/bin/rsync --server --sender ${B}`, ['rsync', '--numeric-ids', '.', '/docs/']);
    expect(decision).toMatchObject({ decision: 'allow', spelling: 'sudo /usr/bin/rsync' });
    expect(execPlan(decision).argv).toEqual(expect.arrayContaining(['--numeric-ids', 'docs/']));
  });

  it('BackupPC’s /etc share sent in the protected arguments: the pull reads /etc, so the sandbox withholds its secrets from it', () => {
    const system = policyFrom(`
version: 1
identities:
  bpc: { rules: [ { name: shares, rsync: { root: /, access: read, paths: [/etc, /home] } } ] }
`);
    const decision = decide(
      system,
      requestFor('bpc', `rsync --server --sender ${B}`, { protectedArgs: ['rsync', '--numeric-ids', '.', '/etc/'] }),
    );
    expect(execPlan(decision).sandbox).toMatchObject({ secrets: 'withhold', reads: ['/etc'] });
  });

  it('a --delete smuggled in the protected arguments is refused like any other', () => {
    expect(decideWith('w', `rsync --server ${B}`, ['rsync', '--delete', '.', 'x/'])).toMatchObject({
      decision: 'deny',
      reason: 'rsync-option-refused',
    });
  });

  it.each([
    ['a path out of root', ['rsync', '.', '../etc/'], 'rsync-path-escapes-root'],
    ['a control character in a name', ['rsync', '.', 'a\nb/'], 'tokenize-control-character'],
    ['a look-alike slash', ['rsync', '.', 'a\u2215b/'], 'tokenize-invisible-character'],
    ['a list that is not rsync’s', ['sh', '-c', 'id'], 'rsync-protected-args'],
    ['--rsync-path', ['rsync', '--rsync-path=sh', '.', 'x/'], 'rsync-option-refused'],
  ])('%s: refused (%s)', (_name, args, reason) => {
    expect(decideWith('w', `rsync --server ${B}`, args)).toMatchObject({ decision: 'deny', reason });
  });

  it('without them, -s itself is refused (explain, or a connection that could not be read)', () => {
    expect(decide(policy, requestFor('w', `rsync --server ${B} . x/`))).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('a wildcard in a protected pull path is one rsync would expand: marked for the expansion inside root', () => {
    const merged = withProtectedArgs(['rsync', '--server', '--sender', B], new Map(), ['rsync', '.', 'logs/*.gz']);
    expect(merged).toMatchObject({ ok: true, globs: new Map([[5, 'logs/*.gz']]) });
  });
});
