/**
 * check for the policy as the only list of keys: what sshd -T says against what the policy's
 * logins need. Each row is a setting that locks keys out or lets a certificate past ssh-dispatch.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loginFindings, sshdLoginFindings, unsafeCommandPath } from '../../src/cli/check-fleet.js';
import { policyFrom } from '../helpers.js';

const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const policy = policyFrom(`
version: 1
identities:
  host1:
    keys: ["${KEY}"]
    accounts: [root]
    rules: []
  host1-again:
    keys: ["${KEY}"]
    accounts: [root, backup]
    rules: []
  alice:
    principals: [alice]
    accounts: [root]
    rules: []
  bob:
    principals: [alice, bob]
    accounts: [root]
    rules: []
  loose:
    principals: [carol]
    rules: []
  nowhere:
    keys: ["${KEY}"]
    accounts: [archive]
    from: []
    rules: []
`);
const plain = policyFrom('version: 1\nidentities:\n  a:\n    rules: []\n');

describe('loginFindings', () => {
  const texts = loginFindings(policy).map((f) => f.text);
  it.each([
    [/identity loose has principals but no accounts/],
    [/identity host1-again: key SHA256:uNiV\S+ into root is also identity host1's/],
    [
      /identity bob: principal alice into root is also identity alice's: sshd uses only the first principals line naming it .*never reach bob/,
    ],
    [/identity nowhere has from: \[\], which admits no address/],
  ])('%s', (pattern) => {
    expect(
      texts.some((t) => pattern.test(t)),
      texts.join('\n'),
    ).toBe(true);
  });
  it('nothing else: a key into another account, and a principal of one identity, are fine', () => {
    expect(texts).toHaveLength(4);
    expect(loginFindings(plain)).toEqual([]);
  });
});

/** sshd -T's defaults, as `sshd -T -f /dev/null` prints them, with `changes`. */
function sshd(changes: Record<string, string>): Map<string, string[]> {
  const settings: Record<string, string> = {
    exposeauthinfo: 'no',
    trustedusercakeys: 'none',
    authorizedprincipalsfile: 'none',
    authorizedkeyscommand: 'none',
    authorizedkeyscommanduser: 'none',
    authorizedprincipalscommand: 'none',
    authorizedprincipalscommanduser: 'none',
    authorizedkeysfile: '.ssh/authorized_keys .ssh/authorized_keys2',
    ...changes,
  };
  return new Map(Object.entries(settings).map(([k, v]) => [k, [v]]));
}

describe('sshdLoginFindings', () => {
  // A command path sshd would refuse (under /tmp), so that no row runs anything.
  const UNSAFE_PATH = '/tmp/ssh-dispatch';
  it.each([
    [
      "the CA trusted with no principals command or file: a certificate naming root gets root's shell",
      { trustedusercakeys: '/etc/ssh/ca.pub' },
      'unsafe',
      /TrustedUserCAKeys \/etc\/ssh\/ca\.pub without AuthorizedPrincipalsCommand/,
    ],
    [
      'a principals command that is not given %u last',
      {
        trustedusercakeys: '/etc/ssh/ca.pub',
        authorizedprincipalscommand: `${UNSAFE_PATH} authorized-principals-command`,
        authorizedprincipalscommanduser: 'sd',
      },
      'error',
      /must end with %u/,
    ],
    [
      'a principals command without its user',
      { trustedusercakeys: '/etc/ssh/ca.pub', authorizedprincipalscommand: `${UNSAFE_PATH} authorized-principals-command %u` },
      'error',
      /AuthorizedPrincipalsCommandUser is not set/,
    ],
    [
      'a principals command sshd will not run',
      {
        trustedusercakeys: '/etc/ssh/ca.pub',
        authorizedprincipalscommand: `${UNSAFE_PATH} authorized-principals-command %u`,
        authorizedprincipalscommanduser: 'sd',
      },
      'error',
      /AuthorizedPrincipalsCommand: sshd will not run it \(\/tmp\/ssh-dispatch: ENOENT\)/,
    ],
    ['principals in the policy, no CA trusted', {}, 'warning', /TrustedUserCAKeys is not set/],
    [
      'principals in the policy, ExposeAuthInfo off',
      {},
      'error',
      /ExposeAuthInfo is not yes: identities with principals deny every request/,
    ],
    [
      'a keys command with its words in another order',
      { authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %k %t`, authorizedkeyscommanduser: 'sd' },
      'error',
      /must end with %u %t %k/,
    ],
    [
      'a keys command without its user',
      { authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %t %k` },
      'error',
      /AuthorizedKeysCommandUser is not set/,
    ],
    [
      'a keys command run as nobody',
      { authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %t %k`, authorizedkeyscommanduser: 'nobody' },
      'warning',
      /AuthorizedKeysCommandUser nobody: use an account of its own/,
    ],
    [
      'a principals file beside the principals command: sshd reads it first, and its lines need no command=',
      {
        trustedusercakeys: '/etc/ssh/ca.pub',
        authorizedprincipalsfile: '/etc/ssh/principals/%u',
        authorizedprincipalscommand: `${UNSAFE_PATH} authorized-principals-command %u`,
        authorizedprincipalscommanduser: 'sd',
      },
      'unsafe',
      /AuthorizedPrincipalsFile \/etc\/ssh\/principals\/%u beside ssh-dispatch's principals command/,
    ],
    [
      "a principals file and no principals command: the policy's principals are never reached",
      { trustedusercakeys: '/etc/ssh/ca.pub', authorizedprincipalsfile: '.ssh/authorized_principals' },
      'warning',
      /AuthorizedPrincipalsFile \.ssh\/authorized_principals and no ssh-dispatch principals command/,
    ],
    [
      'the commands run as an account the keys log into',
      { authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %t %k`, authorizedkeyscommanduser: 'backup' },
      'unsafe',
      /AuthorizedKeysCommandUser backup is an account the policy's keys log into/,
    ],
    [
      'authorized_keys files read beside the policy',
      { authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %t %k`, authorizedkeyscommanduser: 'sd' },
      'warning',
      /AuthorizedKeysFile \.ssh\/authorized_keys .*log in too/,
    ],
  ] as const)('%s', (_name, changes, level, pattern) => {
    const findings = sshdLoginFindings(sshd(changes), policy);
    expect(
      findings.some((f) => f.level === level && pattern.test(f.text)),
      findings.map((f) => `${f.level} ${f.text}`).join('\n'),
    ).toBe(true);
  });

  it('the lines authorized-key --sshd-config prints, with ExposeAuthInfo: nothing but the refused path', () => {
    const findings = sshdLoginFindings(
      sshd({
        exposeauthinfo: 'yes',
        authorizedkeysfile: 'none',
        trustedusercakeys: '/etc/ssh/ca.pub',
        authorizedkeyscommand: `${UNSAFE_PATH} authorized-keys-command %u %t %k`,
        authorizedkeyscommanduser: 'sd',
        authorizedprincipalscommand: `${UNSAFE_PATH} authorized-principals-command %u`,
        authorizedprincipalscommanduser: 'sd',
      }),
      policy,
    );
    expect(findings.map((f) => f.text).filter((t) => !t.includes('will not run it'))).toEqual([]);
  });

  it('a policy without fleet keys, on a plain sshd: nothing', () => {
    expect(sshdLoginFindings(sshd({}), plain)).toEqual([]);
  });
});

describe("unsafeCommandPath (sshd's safe_path)", () => {
  it('a file below /tmp (writable by all, sticky or not)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-safe-path-'));
    try {
      writeFileSync(join(dir, 'ssh-dispatch'), '', { mode: 0o755 });
      expect(unsafeCommandPath(join(dir, 'ssh-dispatch'))).toMatch(/^\/tmp\S* is owned by uid [0-9]+ with mode [0-7]+: sshd wants root's/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it.each([
    ['/usr/sbin/sshd', null],
    ['relative/path', /not an absolute path/],
    ['/nonexistent/ssh-dispatch', /ENOENT/],
    ['/usr/sbin', /is not a file/],
  ])('%s', (path, expected) => {
    const why = unsafeCommandPath(path);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
  });
});
