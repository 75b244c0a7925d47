/**
 * The built authorized-keys-command and authorized-principals-command as sshd runs them, without
 * sshd (test/e2e/fleet.e2e.test.ts has sshd): what they print for whom, and that every doubt
 * prints nothing with a non-zero exit (sshd then accepts no line from them). Keys and
 * certificates are made by ssh-keygen here.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, BUNDLE, NODE } from './lab.js';
import { runBundle } from './run-bundle.js';

let dir: string;
let policy: string;
const pub: Record<string, [string, string]> = {};

function makeKey(name: string): [string, string] {
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8')
    .trim()
    .split(' ')
    .slice(0, 2) as [string, string];
}

const keys = (...args: string[]) => runBundle(['authorized-keys-command', '--policy', policy, ...args]);
const principals = (...args: string[]) => runBundle(['authorized-principals-command', '--policy', policy, ...args]);
const commandFor = (id: string, extra = '') => `command="${NODE} ${BUNDLE} --id ${id} --policy ${policy}${extra}"`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-login-commands-'));
  policy = join(dir, 'policy.yaml');
  for (const name of ['backup', 'other', 'user', 'stranger', 'hop']) pub[name] = makeKey(name);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', join(dir, 'ca')]);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'alice', '-n', 'alice', join(dir, 'user.pub')]);
  writeFileSync(
    policy,
    `version: 1
audit: { file: ${join(dir, 'audit.jsonl')} }
identities:
  host1:
    keys: ["${pub.backup!.join(' ')} backup@host1"]
    accounts: [backup]
    from: [192.0.2.7/24, "2001:db8::1/64"]
    rules: []
  host1-root:
    keys: ["${pub.backup!.join(' ')}"]
    accounts: [root]
    rules: []
  ops:
    principals: [alice, ops]
    accounts: [backup]
    rules: []
  gw-hop:
    keys: ["${pub.hop!.join(' ')}"]
    accounts: [gw]
    rules:
      - { name: inner, relay: { to: ["db.internal:22", "10.0.0.0/24:22", "[2001:db8::1]:22"] } }
  retired:
    keys: ["${pub.other!.join(' ')}"]
    principals: [bob]
    accounts: [backup]
    expires: 2020-01-01
    rules: []
`,
    { mode: 0o600 },
  );
  applyPolicy(policy);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('authorized-keys-command', () => {
  it('prints the line of each identity that lists the key for that account, with from= as sshd reads it', () => {
    const result = keys('backup', ...pub.backup!);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`restrict,from="192.0.2.0/24,2001:db8:0:0:0:0:0:0/64",${commandFor('host1')} ${pub.backup!.join(' ')}\n`);
    expect(keys('root', ...pub.backup!).stdout).toBe(`restrict,${commandFor('host1-root')} ${pub.backup!.join(' ')}\n`);
  });

  it('an identity with relay rules: port-forwarding, its destinations as permitopen (not the range), no listener', () => {
    const result = keys('gw', ...pub.hop!);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      `restrict,port-forwarding,permitopen="db.internal:22",permitopen="[2001:db8::1]:22",permitlisten="NONE:1",${commandFor('gw-hop')} ${pub.hop!.join(' ')}\n`,
    );
  });

  it('serves the applied version, not the edited files; --command names what command= runs; --approved (from before apply) changes nothing', () => {
    const applied = join(dir, 'applied.yaml');
    writeFileSync(
      applied,
      `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  host1-root:\n    keys: ["${pub.backup!.join(' ')}"]\n    accounts: [root]\n    rules: []\n`,
      { mode: 0o600 },
    );
    applyPolicy(applied);
    // An edit nobody applied: the keys still get the applied version.
    writeFileSync(
      applied,
      `version: 1\nidentities:\n  other:\n    keys: ["${pub.backup!.join(' ')}"]\n    accounts: [root]\n    rules: []\n`,
      { mode: 0o600 },
    );
    const result = runBundle([
      'authorized-keys-command',
      '--policy',
      applied,
      '--approved',
      '--command',
      '/usr/local/bin/ssh-dispatch',
      'root',
      ...pub.backup!,
    ]);
    expect(result.stdout).toBe(
      `restrict,command="/usr/local/bin/ssh-dispatch --id host1-root --policy ${applied}" ${pub.backup!.join(' ')}\n`,
    );
    // Applied, the edit is served.
    applyPolicy(applied);
    expect(runBundle(['authorized-keys-command', '--policy', applied, 'root', ...pub.backup!]).stdout).toContain('--id other ');
  });

  // Rows are functions: the keys exist only once beforeAll has made them.
  it.each([
    ['an account no identity lists', () => ['www-data', ...pub.backup!]],
    ['a key no identity lists', () => ['backup', ...pub.stranger!]],
    ['the key of an expired identity', () => ['backup', ...pub.other!]],
    [
      'a certificate (the principals command answers those)',
      () => ['backup', ...readFileSync(join(dir, 'user-cert.pub'), 'utf8').trim().split(' ').slice(0, 2)],
    ],
    ['a key named as another type', () => ['backup', 'ssh-rsa', pub.backup![1]]],
    ['a key cut short', () => ['backup', pub.backup![0], pub.backup![1].slice(0, 30)]],
    ['an account name sshd would not give', () => ['Backup\nx', ...pub.backup!]],
  ])('prints nothing for %s (exit 0)', (_name, args) => {
    const result = keys(...args());
    expect([result.code, result.stdout]).toEqual([0, '']);
  });

  it.each([
    ['too few arguments', () => ['backup', pub.backup![0]]],
    ['an unknown option', () => ['--polcy', 'x', 'backup', ...pub.backup!]],
    // It would go into command=, and the session reads it from the account's home.
    ['a relative --policy', () => ['--policy', 'policy.yaml', 'backup', ...pub.backup!]],
    // A word that cannot go into command= fails every key, listed or not, so check's probe sees it.
    ['a --policy that cannot go into command=, for a key nobody lists', () => ['--policy', '/tmp/p"q', 'backup', ...pub.stranger!]],
  ])('%s: a usage error, nothing printed (exit 2)', (_name, args) => {
    const result = keys(...args());
    expect([result.code, result.stdout]).toEqual([2, '']);
  });

  it('a policy never applied (its files do not load either): nothing printed, exit 1', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nidentities:\n  host1:\n    form: []\n', { mode: 0o600 });
    const result = runBundle(['authorized-keys-command', '--policy', broken, 'backup', ...pub.backup!]);
    expect([result.code, result.stdout]).toEqual([1, '']);
  });

  it('a policy others may write: apply refuses it, so nothing is served (exit 1)', () => {
    const open = join(dir, 'open.yaml');
    writeFileSync(open, readFileSync(policy, 'utf8'));
    chmodSync(open, 0o666);
    expect(() => applyPolicy(open)).toThrow(/writable by group or others/);
    const result = runBundle(['authorized-keys-command', '--policy', open, 'backup', ...pub.backup!]);
    expect([result.code, result.stdout]).toEqual([1, '']);
  });
});

describe('authorized-principals-command', () => {
  it('prints one line per principal of each certificate identity of the account', () => {
    const result = principals('backup');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`restrict,${commandFor('ops')} alice\nrestrict,${commandFor('ops')} ops\n`);
  });

  it('nothing for an account without certificate identities, or an expired one', () => {
    expect([principals('root').code, principals('root').stdout]).toEqual([0, '']);
  });

  it('a usage error without the account', () => {
    expect(principals().code).toBe(2);
  });
});

describe('explain for a certificate', () => {
  it('--principal and --user stand for the certificate and the account', () => {
    const allow = runBundle(['explain', '--policy', policy, '--id', 'ops', '--user', 'backup', '--principal', 'ops', '--', 'true']);
    expect(allow.stdout).toMatch(/^deny {3}no-rule-matched/);
    const noCert = runBundle(['explain', '--policy', policy, '--id', 'ops', '--user', 'backup', '--', 'true']);
    expect(noCert.stdout).toMatch(
      /^deny {3}certificate-missing[\s\S]*hint {5}the identity has a principals list: give a certificate principal with --principal NAME/,
    );
    const otherPrincipal = runBundle([
      'explain',
      '--policy',
      policy,
      '--id',
      'ops',
      '--user',
      'backup',
      '--principal',
      'bob',
      '--',
      'true',
    ]);
    expect(otherPrincipal.stdout).toMatch(/^deny {3}certificate-principal-not-allowed/);
  });
});

describe('check --as for the collector', () => {
  it.runIf(process.getuid?.() === 0)(
    'warns when the account cannot read the collector CA: its sessions would send nothing over TLS',
    () => {
      const ca = join(dir, 'collector-ca.pem');
      writeFileSync(ca, 'not read here\n', { mode: 0o600 });
      const withTls = join(dir, 'tls.yaml');
      writeFileSync(
        withTls,
        `version: 1\naudit:\n  file: ${join(dir, 'audit.jsonl')}\n  syslog: { tcp: "127.0.0.1:6514", tls: { ca: ${ca} } }\nidentities:\n  a:\n    rules: []\n`,
        { mode: 0o600 },
      );
      const checked = runBundle(['check', '--policy', withTls, '--as', 'nobody']);
      expect(checked.stdout).toMatch(
        new RegExp(
          `--as nobody: warning: audit\\.syslog\\.tls\\.ca ${ca.replaceAll('.', '\\.')}: cannot be read \\(EACCES\\): the records of this account's sessions will not reach the collector`,
        ),
      );
    },
  );
});

describe('check tries the accounts the policy names', () => {
  it.runIf(process.getuid?.() === 0)(
    'an account that cannot read the policy is an error without --as: its keys would get a line and every session be denied',
    () => {
      const listed = join(dir, 'listed.yaml');
      writeFileSync(
        listed,
        `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  a:\n    keys: ["${pub.backup!.join(' ')}"]\n    accounts: [nobody, no-such-account-here]\n    rules: []\n`,
        { mode: 0o600 },
      );
      const checked = runBundle(['check', '--policy', listed]);
      expect(checked.code).toBe(1);
      expect(checked.stdout).toMatch(
        /account nobody \(in accounts:\): error: \S+listed\.yaml: cannot be read \(EACCES\): every request of this account's keys would be denied/,
      );
      // An account this host does not have is another host's: not an error here.
      expect(checked.stdout).not.toContain('no-such-account-here');
    },
  );
});
