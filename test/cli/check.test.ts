/**
 * check's UNSAFE write rules: a root that reaches a home (any uid, read through NSS), the
 * system's directories, the policy, the log or ssh-dispatch itself, compared after symlinks are
 * resolved; and the directory tests that look at the owner as well as the mode.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolvePath } from '../../src/cli/check/resolve-path.js';
import { secretsFindings } from '../../src/cli/check/secrets.js';
import { patternListAllows } from '../../src/cli/check/sshd.js';
import { nssAccounts, parsePasswd } from '../../src/host/accounts.js';
import { protectedPaths, writeRootFindings } from '../../src/policy/lint.js';
import { policyFrom } from '../helpers.js';

// What `getent passwd` prints on a Debian host with one LDAP account: system accounts below
// uid 1000 have homes too, and some of them have shells.
const GETENT = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
git:x:998:998:git:/srv/git:/bin/sh
odd:x:997:997::/:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/bash
ldapuser:*:20001:20001:From LDAP:/net/home/ldapuser:/bin/bash
not a passwd line
`;

const guarded = protectedPaths({
  accounts: parsePasswd(GETENT),
  topLevel: ['bin', 'etc', 'lib', 'lib64', 'srv', 'var'],
  policyDir: '/etc/ssh-dispatch/policies',
  logDir: '/var/log/ssh-dispatch',
  installDirs: ['/usr/local/lib/ssh-dispatch', '/opt/ssh-dispatch/node/bin'],
});
const identity = (rule: string) => `version: 1\nidentities:\n  a:\n    rules:\n      - ${rule}\n`;
const unsafeFor = (rule: string, resolve = (p: string) => p) =>
  writeRootFindings(policyFrom(identity(rule)), guarded, resolve).map((f) => `${f.level}: ${f.message}`);

describe('writeRootFindings', () => {
  it.each([
    ["a system account's home (uid 998, /srv/git)", '/srv/git', /is \/srv\/git, the home of git \(uid 998\)/],
    ["inside a system account's home", '/var/backups/host1', /lies in \/var\/backups, the home of backup \(uid 34\)/],
    ['a home only NSS knows (LDAP)', '/net/home/ldapuser', /the home of ldapuser \(uid 20001\)/],
    ['~/.ssh', '/home/alice/.ssh', /lies in \/home\/alice, the home of alice/],
    ["root's home", '/root', /is \/root, the home of root \(uid 0\)/],
    ['/etc', '/etc', /is \/etc, system configuration/],
    ['/etc/cron.d', '/etc/cron.d', /is \/etc\/cron.d, cron jobs/],
    ['/etc/sudoers.d', '/etc/sudoers.d', /is \/etc\/sudoers.d, sudoers rules/],
    ['/etc/systemd/system', '/etc/systemd/system', /lies in \/etc\/systemd, systemd units/],
    ['/usr/local/bin', '/usr/local/bin', /is \/usr\/local\/bin, programs on every PATH/],
    ['/usr/lib/systemd', '/usr/lib/systemd/system', /lies in \/usr\/lib\/systemd/],
    ['/lib64, as / lists it', '/lib64/x', /lies in \/lib64, system libraries/],
    ['/boot', '/boot', /is \/boot/],
    ['/sbin', '/sbin', /is \/sbin/],
    ['/var/spool/cron', '/var/spool/cron/crontabs', /lies in \/var\/spool\/cron, crontabs/],
    ['/run/systemd', '/run/systemd/transient', /lies in \/run\/systemd/],
    ['/var, which contains crontabs, homes and the log', '/var', /contains \/var\/spool\/cron/],
    ['/', '/', /contains \/etc/],
    ['the policy', '/etc/ssh-dispatch', /contains \/etc\/ssh-dispatch\/policies, the policy/],
    ['the audit log', '/var/log/ssh-dispatch', /is \/var\/log\/ssh-dispatch, the audit log/],
    ['the install directory', '/usr/local/lib/ssh-dispatch', /ssh-dispatch and its runtime/],
    ['the Node runtime beside the bundle', '/opt/ssh-dispatch', /contains \/opt\/ssh-dispatch\/node\/bin, ssh-dispatch and its runtime/],
  ])('%s: UNSAFE', (_name, root, message) => {
    const found = [
      ...unsafeFor(`{ name: w, rsync: { root: ${root}, access: write } }`),
      ...unsafeFor(`{ name: r, receive: { dir: ${root}, name: x } }`),
    ];
    expect(found).toHaveLength(2);
    for (const f of found) {
      expect(f).toMatch(/^unsafe: rule "[wr]" of a writes to /);
      expect(f).toMatch(message);
    }
  });

  it.each([
    ['a directory of its own', '/srv/backup/host1'],
    ['a name that only starts like a home (/home/alice2)', '/home/alice2'],
    ['a name that only starts like /etc (/etcetera)', '/etcetera'],
    ['beside a home of "/" (no home to protect)', '/srv/data'],
  ])('%s: nothing', (_name, root) => {
    expect(unsafeFor(`{ name: w, rsync: { root: ${root}, access: read-write } }`)).toEqual([]);
  });

  it('a read rule may read a home', () => {
    expect(unsafeFor('{ name: r, rsync: { root: /home/alice, access: read } }')).toEqual([]);
  });

  it('compares what the paths resolve to, and says so', () => {
    const resolve = (p: string) => (p === '/srv/link' ? '/home/alice' : p);
    expect(unsafeFor('{ name: w, rsync: { root: /srv/link, access: write } }', resolve)).toEqual([
      expect.stringMatching(/writes to \/srv\/link \(resolved: \/home\/alice\), which is \/home\/alice, the home of alice/),
    ]);
  });
});

describe('writeRootFindings: exec rules are write rules where they write (found in review)', () => {
  it.each([
    [
      'tee into cron',
      '{ name: t, exec: { command: "tee /etc/cron.d/*", program: /usr/bin/tee } }',
      /rule "t" of a writes to \/etc\/cron.d, which is \/etc\/cron.d, cron jobs/,
    ],
    [
      "patch in root's home",
      '{ name: p, exec: { command: "patch -p1", program: /usr/bin/patch, cwd: /root } }',
      /rule "p" of a writes to \/root, which is \/root, the home of root/,
    ],
    [
      'dd of= a key file',
      '{ name: d, exec: { command: "dd of=/home/alice/.ssh/authorized_keys", program: /bin/dd } }',
      /lies in \/home\/alice, the home of alice/,
    ],
  ])('%s: UNSAFE', (_name, rule, message) => {
    const found = unsafeFor(rule);
    expect(found.join('\n')).toMatch(message);
    expect(found[0]).toMatch(/^unsafe: /);
  });
});

describe('resolvePath', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ssh-dispatch-resolve-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'home', 'alice', '.ssh'), { recursive: true });
  symlinkSync(join(dir, 'home', 'alice'), join(dir, 'innocent'));
  symlinkSync('home', join(dir, 'relative'));
  symlinkSync('home/alice/.config/systemd', join(dir, 'dangling'));

  it.each([
    ['a symlink to a home', 'innocent', 'home/alice'],
    ['a path through a symlink', 'innocent/.ssh', 'home/alice/.ssh'],
    ['a relative symlink', 'relative', 'home'],
    ['a dangling symlink: where a write through it lands', 'dangling', 'home/alice/.config/systemd'],
    ['a path that does not exist yet, below a symlink', 'innocent/new/dir', 'home/alice/new/dir'],
  ])('%s', (_name, path, expected) => {
    expect(resolvePath(join(dir, path))).toBe(join(dir, expected));
  });

  it('with the real filesystem: a write root that is a symlink to a home is UNSAFE', () => {
    const list = protectedPaths({
      accounts: [{ user: 'alice', uid: 1000, home: join(dir, 'home', 'alice') }],
      topLevel: [],
      policyDir: '/nonexistent-p',
      logDir: '/nonexistent-l',
      installDirs: [],
    });
    const policy = policyFrom(identity(`{ name: w, rsync: { root: ${join(dir, 'innocent')}, access: write } }`));
    expect(writeRootFindings(policy, list, resolvePath).map((f) => f.level)).toEqual(['unsafe']);
  });
});

describe('nssAccounts', () => {
  it('reads every account getent passwd resolves, system accounts included', () => {
    const { accounts, problem } = nssAccounts();
    expect(problem).toBeNull();
    const expected = parsePasswd(spawnSync('getent', ['passwd'], { encoding: 'utf8' }).stdout);
    expect(accounts).toEqual(expected);
    expect(accounts.some((a) => a.uid === 0)).toBe(true);
    expect(accounts.some((a) => a.uid > 0 && a.uid < 1000)).toBe(true);
  });

  it('falls back to /etc/passwd, saying why, when getent cannot run', () => {
    const { accounts, problem } = nssAccounts('/nonexistent/getent');
    expect(problem).toMatch(/getent passwd failed \(ENOENT\): accounts were read from \/etc\/passwd only/);
    expect(accounts.some((a) => a.uid === 0)).toBe(true);
  });
});

describe('PermitUserEnvironment pattern lists (sshd >= 7.8)', () => {
  it.each([
    ['LANG,LC_*', 'NODE_OPTIONS', false],
    ['LANG,LC_*', 'LC_ALL', true],
    ['*', 'LD_PRELOAD', true],
    ['NODE_*', 'NODE_OPTIONS', true],
    ['LD_?RELOAD', 'LD_PRELOAD', true],
    ['*,!LD_*', 'LD_PRELOAD', false],
    ['*,!LD_*', 'NODE_OPTIONS', true],
    ['A.B', 'AxB', false],
  ])('%s lets %s through: %s', (list, name, expected) => expect(patternListAllows(list, name)).toBe(expected));
});

describe('check on the secrets in a read rule’s paths (secretsFindings)', () => {
  const policy = policyFrom(`
version: 1
identities:
  a:
    rules:
      - { name: unsaid, rsync: { root: /, access: read, paths: [/etc, /home] } }
      - { name: withheld, rsync: { root: /, access: read, paths: [/etc], secrets: withhold } }
      - { name: served, rsync: { root: /, access: read, paths: [/etc], secrets: serve } }
      - { name: homes, rsync: { root: /, access: read, paths: [/home] } }
      - { name: whole, rsync: { root: /, access: read } }
      - { name: keys, rsync: { root: /etc/ssh, access: write } }
      - { name: tar, exec: { command: "tar cf - /etc", program: /usr/bin/tar, sandbox: { read: [/etc] } } }
      - { name: tar-served, exec: { command: "tar cf - /etc/ssh", program: /usr/bin/tar, sandbox: { read: [/etc/ssh], secrets: serve } } }
`);
  const rules = new Map(policy.identities.get('a')!.rules.map((rule) => [rule.name, rule]));
  const said = (name: string) => secretsFindings(rules.get(name)!).map((f) => `${f.level}: ${f.message}`);

  it('a read rule whose paths hold withheld secrets and that does not say secrets: a warning that names them and both choices', () => {
    expect(said('unsaid')).toEqual([
      expect.stringMatching(
        /^warning: rule "unsaid": its paths \(\/etc, \/home\) hold \/etc\/shadow, .* which the sandbox withholds: .*fails.*secrets: serve.*secrets: withhold/,
      ),
    ]);
    expect(said('whole')).toEqual([expect.stringContaining('which the sandbox withholds')]);
    expect(said('tar')).toEqual([expect.stringContaining('which the sandbox withholds')]);
  });

  it('said explicitly: withhold is quiet, serve warns that the clients read password hashes and host keys', () => {
    expect(said('withheld')).toEqual([]);
    expect(said('served')).toEqual([
      expect.stringMatching(/^warning: rule "served": secrets: serve hands its clients \/etc\/shadow.*password hashes, host keys/),
    ]);
    expect(said('tar-served')).toEqual([expect.stringContaining('secrets: serve hands its clients /etc/ssh')]);
  });

  it('control: paths beside the secrets, nothing; a write rule over them keeps the covered warning', () => {
    expect(said('homes')).toEqual([]);
    expect(said('keys')).toEqual([expect.stringContaining('/etc/ssh holds or lies in /etc/ssh, which the sandbox keeps covered')]);
  });
});
