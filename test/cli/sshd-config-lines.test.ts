/** authorized-key --sshd-config: the lines sshd needs for the policy as the only list of keys. */
import { describe, expect, it } from 'vitest';
import { sshdConfigLines } from '../../src/cli/authorized-key.js';

const base = { user: 'ssh-dispatch', policy: '/etc/ssh-dispatch/policies', command: '/usr/local/bin/ssh-dispatch' };

describe('sshdConfigLines', () => {
  it('keys only: no authorized_keys files, the keys command with %u %t %k, ExposeAuthInfo', () => {
    expect(sshdConfigLines({ ...base, ca: null }).filter((l) => !l.startsWith('#'))).toEqual([
      'AuthorizedKeysFile none',
      'AuthorizedKeysCommand /usr/local/bin/ssh-dispatch authorized-keys-command --policy /etc/ssh-dispatch/policies %u %t %k',
      'AuthorizedKeysCommandUser ssh-dispatch',
      'ExposeAuthInfo yes',
    ]);
  });

  it('with a CA: the principals command comes before the keys command (OpenSSH < 9.4 drops it after: bz3574)', () => {
    const lines = sshdConfigLines({ ...base, ca: '/etc/ssh/user_ca.pub' }).filter((l) => !l.startsWith('#'));
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines).toContain(
      'AuthorizedPrincipalsCommand /usr/local/bin/ssh-dispatch authorized-principals-command --policy /etc/ssh-dispatch/policies %u',
    );
    expect(lines).toContain('TrustedUserCAKeys /etc/ssh/user_ca.pub');
    expect(lines).toContain('AuthorizedPrincipalsCommandUser ssh-dispatch');
    expect(at('AuthorizedPrincipalsCommand ')).toBeLessThan(at('AuthorizedKeysCommand '));
  });

  it.each([
    [{ ca: 'user_ca.pub' }, /--ca user_ca.pub: give an absolute path/],
    [{ ca: null, user: 'Root' }, /--user Root: expected an account name/],
    [{ ca: null, command: 'ssh-dispatch' }, /sshd needs an absolute path/],
    [{ ca: null, policy: '/etc/x y' }, /cannot put "\/etc\/x" in sshd_config safely|cannot put/],
    [{ ca: null, policy: 'policies' }, /--policy policies: give an absolute path/],
  ])('refuses %j', (options, message) => {
    expect(() => sshdConfigLines({ ...base, ...options } as Parameters<typeof sshdConfigLines>[0])).toThrow(message);
  });
});

describe('sshdConfigLines for some accounts only', () => {
  it('a Match User block, every line inside it, the principals command still before the keys command', () => {
    const lines = sshdConfigLines({ ...base, ca: '/etc/ssh/user_ca.pub', matchUsers: ['backup', 'root'] });
    const body = lines.filter((l) => !l.startsWith('#'));
    expect(body[0]).toBe('Match User backup,root');
    expect(body.slice(1).every((l) => l.startsWith('    '))).toBe(true);
    expect(body.findIndex((l) => l.includes('AuthorizedPrincipalsCommand '))).toBeLessThan(
      body.findIndex((l) => l.includes('AuthorizedKeysCommand ')),
    );
    expect(body).toContain('    AuthorizedKeysFile none');
  });

  it('refuses a name that is not an account', () => {
    expect(() => sshdConfigLines({ ...base, ca: null, matchUsers: ['backup', '*'] })).toThrow(/--match-user \*: expected account names/);
  });
});
