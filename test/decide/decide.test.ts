/**
 * decide(): one row per sentence "identity X, sending C, from A with key K → allow by rule R
 * with argv V" or "→ deny for reason D". Every deny reason that decide() can give has a row.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { execPlan, policyFrom, requestFor } from '../helpers.js';
import type { Request, UserCertificate } from '../../src/request/request.js';

const KEY_A = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KEY_B = 'SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

const policy = policyFrom(`
version: 1
identities:
  host1-backup:
    from: [192.0.2.10, 198.51.100.0/24, "2001:db8::/32"]
    keys: ["${KEY_A}"]
    expires: 2027-06-30
    rules:
      - name: disk-usage
        exec:
          command: "du -sh /srv/backup/host1/*"
          program: /usr/bin/du
      - name: list
        exec:
          command: "/bin/ls -l /srv/backup/host1"
      - name: tar-data
        exec:
          command: "tar -cf - -C /srv/data *"
          program: /bin/tar
      - name: log-option
        exec:
          command: ["journalctl", "--since=*", "-u", "backup.service"]
          program: /bin/journalctl
      - name: quoted
        exec:
          command: ["cat", "/srv/reports/q1 report.pdf"]
          program: /bin/cat
      - name: recursive
        exec:
          command: "sha256sum /srv/data/**"
          program: /usr/bin/sha256sum
      - name: connectivity-check
        exec:
          command: "true"
          program: /bin/true
          supervise: false
  open:
    rules:
      - name: uptime
        exec:
          command: "uptime"
          program: /usr/bin/uptime
          env: { TZ: UTC }
  nothing:
    rules: []
  fleet-key:
    keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeU user-ed25519"]
    accounts: [backup, archive]
    rules:
      - { name: up, exec: { command: uptime, program: /usr/bin/uptime } }
  by-certificate:
    principals: [alice, ops]
    accounts: [backup]
    rules:
      - { name: up, exec: { command: uptime, program: /usr/bin/uptime } }
  certificate-of-one-key:
    principals: [alice]
    keys: ["${KEY_A}"]
    rules:
      - { name: up, exec: { command: uptime, program: /usr/bin/uptime } }
`);

/** A user certificate as sshd exposes it, parsed (values/ssh-key.ts): valid through 2026. */
function certificate(overrides: Partial<UserCertificate> = {}): UserCertificate {
  return {
    keyId: 'alice@laptop',
    serial: '42',
    principals: ['alice'],
    validAfter: Date.UTC(2026, 0, 1) / 1000,
    validBefore: Date.UTC(2027, 0, 1) / 1000,
    ca: 'SHA256:D1+Hce+LcosgSaKpw5UPpJuD58iiigsDBy289yBr6xk',
    ...overrides,
  };
}
/** The fingerprint ssh-keygen -lf prints for the fleet-key identity's public key. */
const FLEET_KEY = 'SHA256:wTKbvkNy4tZ/AsXX/kQ7stfVTQOF4j3/DDX0ns7TsrY';

type Row = { name: string; id?: string; command: string | null; request?: Partial<Request> } & (
  | { allow: string; argv: string[] }
  | { deny: string }
);

const rows: Row[] = [
  // allowed shapes
  {
    name: 'a glob word matches a file name',
    command: 'du -sh /srv/backup/host1/etc',
    allow: 'disk-usage',
    argv: ['/usr/bin/du', '-sh', '/srv/backup/host1/etc'],
  },
  {
    name: 'the absolute first word is the program',
    command: '/bin/ls -l /srv/backup/host1',
    allow: 'list',
    argv: ['/bin/ls', '-l', '/srv/backup/host1'],
  },
  {
    name: 'a quoted word matches a pattern word with a space',
    command: "cat '/srv/reports/q1 report.pdf'",
    allow: 'quoted',
    argv: ['/bin/cat', '/srv/reports/q1 report.pdf'],
  },
  {
    name: 'an escaped space is the same word',
    command: 'cat /srv/reports/q1\\ report.pdf',
    allow: 'quoted',
    argv: ['/bin/cat', '/srv/reports/q1 report.pdf'],
  },
  {
    name: 'an option pattern with a glob value',
    command: 'journalctl --since=yesterday -u backup.service',
    allow: 'log-option',
    argv: ['/bin/journalctl', '--since=yesterday', '-u', 'backup.service'],
  },
  {
    name: '** reaches into subdirectories',
    command: 'sha256sum /srv/data/a/b/c.txt',
    allow: 'recursive',
    argv: ['/usr/bin/sha256sum', '/srv/data/a/b/c.txt'],
  },
  {
    name: 'a client address from the CIDR',
    command: 'true',
    request: { client: { address: '198.51.100.77', port: 1 } },
    allow: 'connectivity-check',
    argv: ['/bin/true'],
  },
  {
    name: 'a v4 client seen on a v6 socket',
    command: 'true',
    request: { client: { address: '::ffff:192.0.2.10', port: 1 } },
    allow: 'connectivity-check',
    argv: ['/bin/true'],
  },
  {
    name: 'a v6 client in the v6 CIDR',
    command: 'true',
    request: { client: { address: '2001:db8:1::5', port: 1 } },
    allow: 'connectivity-check',
    argv: ['/bin/true'],
  },
  {
    name: 'the last day before expiry',
    command: 'true',
    request: { now: new Date(2027, 5, 30, 23, 59) },
    allow: 'connectivity-check',
    argv: ['/bin/true'],
  },
  {
    name: 'an identity without from, keys or expiry',
    id: 'open',
    command: 'uptime',
    request: { client: null, keys: null },
    allow: 'uptime',
    argv: ['/usr/bin/uptime'],
  },

  // who is asking
  { name: 'an unknown identity', id: 'nobody', command: 'true', deny: 'unknown-identity' },
  { name: 'the day after expiry', command: 'true', request: { now: new Date(2027, 6, 1, 0, 0) }, deny: 'identity-expired' },
  {
    name: 'a client outside the from list',
    command: 'true',
    request: { client: { address: '203.0.113.5', port: 1 } },
    deny: 'from-not-allowed',
  },
  {
    name: 'a neighbour of the single address',
    command: 'true',
    request: { client: { address: '192.0.2.11', port: 1 } },
    deny: 'from-not-allowed',
  },
  {
    name: 'a v6 client outside the v6 CIDR',
    command: 'true',
    request: { client: { address: '2001:db9::1', port: 1 } },
    deny: 'from-not-allowed',
  },
  { name: 'no client address at all', command: 'true', request: { client: null }, deny: 'from-unknown' },
  { name: 'a garbled client address', command: 'true', request: { client: { address: '192.0.2', port: 1 } }, deny: 'from-not-allowed' },
  { name: 'another key', command: 'true', request: { keys: [KEY_B] }, deny: 'key-not-allowed' },
  {
    name: 'the right key and another (two publickey methods)',
    command: 'true',
    request: { keys: [KEY_A, KEY_B] },
    deny: 'key-not-allowed',
  },
  { name: 'no key exposed by sshd', command: 'true', request: { keys: null }, deny: 'key-unknown' },
  // keys listed as public keys, and the accounts an identity may log into
  {
    name: 'a key listed as a public key, into a listed account',
    id: 'fleet-key',
    command: 'uptime',
    request: { keys: [FLEET_KEY], user: 'archive' },
    allow: 'up',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'a key listed as a public key: another key',
    id: 'fleet-key',
    command: 'uptime',
    request: { keys: [KEY_A] },
    deny: 'key-not-allowed',
  },
  {
    name: 'an account the identity does not list',
    id: 'fleet-key',
    command: 'uptime',
    request: { keys: [FLEET_KEY], user: 'root' },
    deny: 'account-not-allowed',
  },
  // certificates: principals, validity, every certificate that authenticated
  {
    name: 'a certificate naming a listed principal',
    id: 'by-certificate',
    command: 'uptime',
    request: { keys: [FLEET_KEY], certificates: [certificate()] },
    allow: 'up',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'a certificate naming the second principal among others',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate({ principals: ['bob', 'ops'] })] },
    allow: 'up',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'a certificate valid forever',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate({ validAfter: 0, validBefore: null })] },
    allow: 'up',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'a plain key for a principals identity',
    id: 'by-certificate',
    command: 'uptime',
    request: { keys: [FLEET_KEY] },
    deny: 'certificate-missing',
  },
  {
    name: 'nothing exposed for a principals identity',
    id: 'by-certificate',
    command: 'uptime',
    request: { keys: null, certificates: [] },
    deny: 'certificate-missing',
  },
  {
    name: 'a certificate for another principal',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate({ principals: ['bob'] })] },
    deny: 'certificate-principal-not-allowed',
  },
  {
    name: 'a certificate with no principals',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate({ principals: [] })] },
    deny: 'certificate-principal-not-allowed',
  },
  {
    name: 'a principal differing in case',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate({ principals: ['Alice'] })] },
    deny: 'certificate-principal-not-allowed',
  },
  {
    name: 'an expired certificate',
    id: 'by-certificate',
    command: 'uptime',
    request: { now: new Date(Date.UTC(2027, 0, 1)), certificates: [certificate()] },
    deny: 'certificate-expired',
  },
  {
    name: 'a certificate not yet valid',
    id: 'by-certificate',
    command: 'uptime',
    request: { now: new Date(Date.UTC(2025, 11, 31, 23, 59, 59)), certificates: [certificate()] },
    deny: 'certificate-not-yet-valid',
  },
  {
    name: 'two certificates, the second for another principal',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate(), certificate({ principals: ['bob'] })] },
    deny: 'certificate-principal-not-allowed',
  },
  {
    name: 'a certificate into an account the identity does not list',
    id: 'by-certificate',
    command: 'uptime',
    request: { user: 'root', certificates: [certificate()] },
    deny: 'account-not-allowed',
  },
  {
    name: 'principals and keys: a certificate of the listed key',
    id: 'certificate-of-one-key',
    command: 'uptime',
    request: { keys: [KEY_A], certificates: [certificate()] },
    allow: 'up',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'a listed key beside one sshd exposed that could not be read',
    id: 'fleet-key',
    command: 'uptime',
    request: { keys: [FLEET_KEY], user: 'backup', unreadableKeys: 1 },
    deny: 'key-unknown',
  },
  {
    name: 'a certificate beside a key that could not be read',
    id: 'by-certificate',
    command: 'uptime',
    request: { certificates: [certificate()], unreadableKeys: 1 },
    deny: 'key-unknown',
  },
  {
    name: 'an unreadable key does not matter to an identity that checks no key',
    id: 'open',
    command: 'uptime',
    request: { unreadableKeys: 2 },
    allow: 'uptime',
    argv: ['/usr/bin/uptime'],
  },
  {
    name: 'principals and keys: a certificate of another key',
    id: 'certificate-of-one-key',
    command: 'uptime',
    request: { keys: [KEY_B], certificates: [certificate()] },
    deny: 'key-not-allowed',
  },

  // what is asked
  { name: 'no command at all', command: null, deny: 'no-command' },
  { name: 'an empty command', command: '', deny: 'no-command' },
  { name: 'a blank command', command: '  \t ', deny: 'no-command' },
  { name: 'a tokenizer refusal comes before the rules', command: 'du -sh /srv/backup/host1/x; id', deny: 'tokenize-operator' },
  { name: 'a shell', command: 'sh -c id', deny: 'no-rule-matched' },
  { name: 'an unquoted glob a shell would have expanded', command: 'du -sh /srv/backup/host1/*', deny: 'tokenize-glob' },
  {
    name: 'a quoted glob is a literal word (a file named *)',
    command: "du -sh '/srv/backup/host1/*'",
    allow: 'disk-usage',
    argv: ['/usr/bin/du', '-sh', '/srv/backup/host1/*'],
  },
  { name: 'bash -i', command: 'bash -i', deny: 'no-rule-matched' },
  { name: 'an extra word', command: 'du -sh /srv/backup/host1/etc /etc', deny: 'no-rule-matched' },
  { name: 'a missing word', command: 'du -sh', deny: 'no-rule-matched' },
  { name: '* does not match /', command: 'du -sh /srv/backup/host1/a/b', deny: 'no-rule-matched' },
  { name: '* does not match ..', command: 'du -sh /srv/backup/host1/..', deny: 'no-rule-matched' },
  { name: '* does not match a dotfile', command: 'du -sh /srv/backup/host1/.ssh', deny: 'no-rule-matched' },
  { name: '** does not let .. through', command: 'sha256sum /srv/data/a/../../../etc/shadow', deny: 'no-rule-matched' },
  { name: 'a glob word never matches an option', command: 'tar -cf - -C /srv/data --use-compress-program=/tmp/x', deny: 'no-rule-matched' },
  { name: 'nor an abbreviated long option', command: 'tar -cf - -C /srv/data --use-comp=/tmp/x', deny: 'no-rule-matched' },
  { name: 'nor a short option', command: 'du -sh -L', deny: 'no-rule-matched' },
  { name: 'the literal words must be exact', command: 'du -sH /srv/backup/host1/etc', deny: 'no-rule-matched' },
  { name: 'a relative program spelling', command: './ls -l /srv/backup/host1', deny: 'no-rule-matched' },
  { name: 'a bare name where the rule has an absolute one', command: 'ls -l /srv/backup/host1', deny: 'no-rule-matched' },
  { name: 'a VAR=value prefix', command: 'LD_PRELOAD=/tmp/x.so du -sh /srv/backup/host1/etc', deny: 'no-rule-matched' },
  { name: 'a wrapper program', command: 'env du -sh /srv/backup/host1/etc', deny: 'no-rule-matched' },
  { name: 'sudo', command: 'sudo du -sh /srv/backup/host1/etc', deny: 'spelling-refused' },
  { name: 'case differs', command: 'DU -sh /srv/backup/host1/etc', deny: 'no-rule-matched' },
  { name: 'the quoted word is one word, not two', command: 'cat /srv/reports/q1 report.pdf', deny: 'no-rule-matched' },
  { name: 'the sftp subsystem command', command: '/usr/lib/openssh/sftp-server', deny: 'no-rule-matched' },
  { name: 'internal-sftp', command: 'internal-sftp', deny: 'no-rule-matched' },
  { name: 'scp upload', command: 'scp -t /srv/backup', deny: 'no-rule-matched' },
  { name: 'an identity with no rules', id: 'nothing', command: 'true', request: {}, deny: 'no-rule-matched' },
];

describe('decide', () => {
  it.each(rows)('$name', (row) => {
    const decision = decide(policy, requestFor(row.id ?? 'host1-backup', row.command, row.request));
    if ('allow' in row) {
      expect(decision.decision, JSON.stringify(decision)).toBe('allow');
      if (decision.decision === 'allow') {
        expect(decision.rule.name).toBe(row.allow);
        expect(execPlan(decision).argv).toEqual(row.argv);
      }
    } else {
      expect(decision.decision).toBe('deny');
      if (decision.decision === 'deny') expect(decision.reason).toBe(row.deny);
    }
  });

  it('gives the child only the minimal environment plus the rule env', () => {
    const decision = decide(policy, requestFor('open', 'uptime'));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    expect(execPlan(decision).env).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/home/backup',
      USER: 'backup',
      LOGNAME: 'backup',
      LANG: 'C.UTF-8',
      SSH_CONNECTION: '192.0.2.10 51234 192.0.2.1 22',
      TZ: 'UTC',
    });
  });

  it('stops at the first matching rule and traces the ones tried', () => {
    const decision = decide(policy, requestFor('host1-backup', '/bin/ls -l /srv/backup/host1'));
    expect(decision.trace.map((t) => [t.rule, t.matched])).toEqual([
      ['disk-usage', false],
      ['list', true],
    ]);
    expect(decision.trace[0]!.why).toBe('word 1: not "du"');
  });

  it('says why each rule did not match', () => {
    const decision = decide(policy, requestFor('host1-backup', 'du -sh /srv/backup/host1/a/b'));
    expect(decision.trace[0]!.why).toBe('word 3: does not match "/srv/backup/host1/*"');
    expect(decision.trace[1]!.why).toBe('word 1: not "/bin/ls"');
  });

  it('is the same answer for the same input', () => {
    const request = requestFor('host1-backup', 'du -sh /srv/backup/host1/etc');
    expect(decide(policy, request)).toEqual(decide(policy, request));
  });
});
