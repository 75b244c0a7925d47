/**
 * Policy parsing: each invalid policy gives an error naming line, key and what was expected;
 * a wrong policy must never load with part of it ignored. The frame of a policy (version,
 * identities, rule names and the keys every rule has, audit): each kind's own keys are tested in
 * test/rules/<kind>/parse.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicyText } from '../../src/policy/parse.js';
import { policyErrors as errorsOf } from '../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  ['a missing version', 'identities: {}\n', 'p.yaml:1: missing required key "version"'],
  ['a wrong version', 'version: 2\n', 'p.yaml:1: version: expected 1, got number 2'],
  ['a string version', 'version: "1"\n', 'p.yaml:1: version: expected 1, got "1"'],
  [
    'an unknown top-level key',
    'version: 1\nidentites: {}\n',
    'p.yaml:2: identites: unknown key, did you mean "identities"? (expected one of: version, audit, identities)',
  ],
  [
    'a misspelt identity key',
    'version: 1\nidentities:\n  a:\n    form: [1.2.3.4]\n    rules: []\n',
    'p.yaml:4: identities.a.form: unknown key, did you mean "from"? (expected one of: from, keys, accounts, principals, expires, max-sessions, min-free, tell-client, rules)',
  ],
  ['missing rules', 'version: 1\nidentities:\n  a: {}\n', 'p.yaml:3: identities.a: missing required key "rules"'],
  ['a bad identity name', 'version: 1\nidentities:\n  "../x":\n    rules: []\n', 'p.yaml:3: identities.../x: expected a name of letters'],
  [
    'a duplicate identity in one file',
    'version: 1\nidentities:\n  a:\n    rules: []\n  a:\n    rules: []\n',
    'p.yaml:5: YAML: Map keys must be unique',
  ],
  [
    'a bad from entry',
    'version: 1\nidentities:\n  a:\n    from: [127.1]\n    rules: []\n',
    'p.yaml:4: identities.a.from[0]: expected an IP address or CIDR',
  ],
  [
    'from as a string',
    'version: 1\nidentities:\n  a:\n    from: 1.2.3.4\n    rules: []\n',
    'p.yaml:4: identities.a.from: expected a list, got "1.2.3.4"',
  ],
  [
    'a bad key fingerprint',
    'version: 1\nidentities:\n  a:\n    keys: [MD5:aa]\n    rules: []\n',
    'p.yaml:4: identities.a.keys[0]: expected a key fingerprint',
  ],
  [
    'a certificate in keys',
    'version: 1\nidentities:\n  a:\n    keys: ["ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIE81vXeRYL2p9Aur3MbX5Ggks+af2mSI56rbyBlFL8V0AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeUAAAAAAAAACoAAAABAAAAFGFsaWNlQGxhcHRvcCBlZDI1NTE5AAAAGQAAAAVhbGljZQAAAAxiYWNrdXAtaG9zdHMAAAAAaVW5AAAAAABrNuyAAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgReIZpEm9vw6HZgbmC59KMqIRRFTR44gnG4NN84rhKPwAAABTAAAAC3NzaC1lZDI1NTE5AAAAQBbPRJq4gURFMjbFSBpIG4xOy7OMB2VOoedRyq1XdLPUIJICXtnebmHPWDW1ghM3CWrO1rO/Tv4MY2L1ucHiLwY= user-ed25519"]\n    rules: []\n',
    'p.yaml:4: identities.a.keys[0]: a certificate: list its principals under principals: instead',
  ],
  [
    'a public key with an altered blob',
    'version: 1\nidentities:\n  a:\n    keys: ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeU"]\n    rules: []\n',
    'p.yaml:4: identities.a.keys[0]: expected a key fingerprint (SHA256:..., as ssh-keygen -lf prints it) or a public key (ssh-ed25519 AAAA... [comment]); this one does not parse',
  ],
  [
    'an account that is no account name',
    'version: 1\nidentities:\n  a:\n    accounts: [Backup]\n    rules: []\n',
    'p.yaml:4: identities.a.accounts[0]: expected an account name',
  ],
  [
    'accounts as a string',
    'version: 1\nidentities:\n  a:\n    accounts: backup\n    rules: []\n',
    'p.yaml:4: identities.a.accounts: expected a list, got "backup"',
  ],
  [
    'a principal with a space',
    'version: 1\nidentities:\n  a:\n    principals: ["alice smith"]\n    rules: []\n',
    'p.yaml:4: identities.a.principals[0]: expected a certificate principal',
  ],
  [
    'an impossible date',
    'version: 1\nidentities:\n  a:\n    expires: 2027-02-30\n    rules: []\n',
    'p.yaml:4: identities.a.expires: expected a date YYYY-MM-DD, got "2027-02-30"',
  ],
  [
    'a tell-client that is neither nothing nor reason',
    'version: 1\nidentities:\n  a:\n    tell-client: yes\n    rules: []\n',
    'p.yaml:4: identities.a.tell-client: expected nothing, or reason',
  ],
  ['a rule without a kind', `${header}      - name: x\n`, 'p.yaml:5: identities.a.rules[0]: expected exactly one rule kind'],
  ['a rule with two kinds', `${header}      - name: x\n        exec: { command: /bin/true }\n        relay: {}\n`, 'got exec and relay'],
  [
    'a rule without a name',
    `${header}      - exec: { command: /bin/true }\n`,
    'p.yaml:5: identities.a.rules[0]: missing required key "name"',
  ],
  [
    'a boolean rule name',
    `${header}      - name: true\n        exec: { command: /bin/true }\n`,
    'identities.a.rules[0].name: expected a name of letters, digits and . _ @ - (at most 64, starting with a letter or digit), got boolean true',
  ],
  [
    'duplicate rule names',
    `${header}      - name: x\n        exec: { command: /bin/true }\n      - name: x\n        exec: { command: /bin/true }\n`,
    'p.yaml:7: identities.a.rules[1].name: duplicate rule name "x" (first at line 5)',
  ],
  [
    'an unknown rule kind',
    `${header}      - name: x\n        ftp: { root: /srv }\n`,
    'identities.a.rules[0].ftp: unknown key, did you mean "sftp"? (expected one of: name, exec, rsync, receive, relay, sftp, expect-every, min-bytes)',
  ],
  [
    'an expect-every that is no duration',
    `${header}      - name: x\n        expect-every: daily\n        exec: { command: /bin/true }\n`,
    'identities.a.rules[0].expect-every: expected a duration such as 26h',
  ],
  [
    'an expect-every past a year',
    `${header}      - name: x\n        expect-every: 400d\n        exec: { command: /bin/true }\n`,
    'rules[0].expect-every',
  ],
  [
    'a min-bytes that is no size',
    `${header}      - name: x\n        min-bytes: lots\n        exec: { command: /bin/true }\n`,
    'identities.a.rules[0].min-bytes: expected a size such as 1MiB',
  ],
  [
    'a min-bytes as a bare number (sizes are strings, like max-bytes)',
    `${header}      - name: x\n        min-bytes: 4096\n        exec: { command: /bin/true }\n`,
    'identities.a.rules[0].min-bytes: expected a size',
  ],
  [
    'a relative audit file',
    'version: 1\naudit:\n  file: audit.jsonl\n',
    'p.yaml:3: audit.file: expected an absolute path without . or .. parts, got "audit.jsonl"',
  ],
  ['YAML syntax', 'version: 1\nidentities: [\n', 'p.yaml:'],
  ['two documents', 'version: 1\n---\nversion: 1\n', 'YAML: Source contains multiple documents'],
  [
    'a control character in a value',
    `${header}      - name: x\n        exec: { command: "/bin/echo \\x1b" }\n`,
    'control characters are not allowed',
  ],
  ['a top-level list', '- version: 1\n', 'p.yaml:1: expected a mapping, got a list'],
  ['an empty file', '', 'p.yaml:1: expected a mapping, got'],
];

describe('parsePolicyText', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(errorsOf(yaml).join('\n')).toContain(expected);
  });

  it('reports every error, not only the first', () => {
    const errors = errorsOf(
      `${header}      - name: x\n        exec: { command: ls }\n      - name: y\n        exec: { command: /bin/true, umask: 7 }\n`,
    );
    expect(errors).toHaveLength(2);
  });

  it('reads expect-every on any rule kind, next to name', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      `${header}      - name: x\n        expect-every: 26h\n        rsync: { root: /srv, access: write }\n      - { name: y, expect-every: 8d, receive: { dir: /srv, name: b } }\n`,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules.map((r) => [r.name, r.kind, r.expectEvery])).toEqual([
      ['x', 'rsync', 26 * 3_600_000],
      ['y', 'receive', 8 * 86_400_000],
    ]);
  });

  it('reads min-bytes on any rule kind, next to expect-every', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      `${header}      - name: x\n        expect-every: 26h\n        min-bytes: 1MiB\n        rsync: { root: /srv, access: write }\n      - { name: y, min-bytes: "4096", receive: { dir: /srv, name: b } }\n      - { name: z, receive: { dir: /srv, name: c } }\n`,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules.map((r) => [r.name, r.minBytes])).toEqual([
      ['x', 2 ** 20],
      ['y', 4096],
      ['z', null],
    ]);
  });

  it('reads keys as fingerprints or public keys (kept as fingerprints), accounts and principals', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      'version: 1\nidentities:\n  a:\n    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeU user-ed25519"]\n    accounts: [backup, root]\n    principals: [alice, ops@example.com]\n    rules: []\n',
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.fragment.identities[0]).toMatchObject({
      keys: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', 'SHA256:wTKbvkNy4tZ/AsXX/kQ7stfVTQOF4j3/DDX0ns7TsrY'],
      accounts: ['backup', 'root'],
      principals: ['alice', 'ops@example.com'],
    });
  });

  it('resolves YAML aliases (a shared from list)', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      'version: 1\nidentities:\n  a:\n    from: &office [192.0.2.0/24]\n    rules: []\n  b:\n    from: *office\n    rules: []\n',
    );
    expect(parsed.ok && parsed.fragment.identities[1]!.from?.[0]?.text).toBe('192.0.2.0/24');
  });
});

describe('one mistake, one error (issue 18)', () => {
  it('a misspelt required key: the unknown key with "did you mean", not also missing and empty (once at line 1)', () => {
    expect(errorsOf(`${header}      - nam: x\n        exec: { command: /bin/true }\n`)).toEqual([
      'p.yaml:5: identities.a.rules[0].nam: unknown key, did you mean "name"? (expected one of: name, exec, rsync, receive, relay, sftp, expect-every, min-bytes)',
    ]);
    expect(errorsOf(`${header}      - name: x\n        rsync: { root: /srv, acess: read }\n`)).toEqual([
      expect.stringMatching(/^p\.yaml:6: identities\.a\.rules\[0\]\.rsync\.acess: unknown key, did you mean "access"\? /),
    ]);
  });

  it('a missing required key with no near miss: one error, not also an empty value at line 1', () => {
    expect(errorsOf(`${header}      - exec: { command: /bin/true }\n`)).toEqual([
      'p.yaml:5: identities.a.rules[0]: missing required key "name"',
    ]);
  });

  it('no suggestion beyond edit distance 2', () => {
    expect(errorsOf(`${header}      - name: x\n        exec: { command: /bin/true, xyzzy: 1 }\n`).join('\n')).toMatch(
      /exec\.xyzzy: unknown key \(expected/,
    );
  });

  it("a tab in the indentation: one error at its line, not the parser's consequences", () => {
    expect(errorsOf(`${header}\t- name: x\n`)).toEqual(['p.yaml:5: YAML: a tab in the indentation: YAML indents with spaces only']);
  });
});

describe('audit.syslog.tls', () => {
  const audit = (syslog: string) => `version: 1\naudit:\n  syslog:\n${syslog}`;

  it.each([
    [
      'a name',
      '    tcp: "logs.example.org:6514"\n    tls: { ca: /etc/ssh-dispatch/ca.pem }\n',
      { host: 'logs.example.org', port: 6514 },
      { ca: '/etc/ssh-dispatch/ca.pem', where: { file: 'p.yaml', line: 5 } },
    ],
    [
      'an IPv6 address, block style',
      '    tcp: "[2001:db8::1]:6514"\n    tls:\n      ca: /etc/ca.pem\n',
      { host: '2001:db8::1', port: 6514 },
      { ca: '/etc/ca.pem', where: { file: 'p.yaml', line: 6 } },
    ],
    ['no tls: plain tcp, as before', '    tcp: "127.0.0.1:514"\n', { host: '127.0.0.1', port: 514 }, null],
  ])('reads tcp with %s', (_name, syslog, tcp, tls) => {
    const parsed = parsePolicyText('p.yaml', audit(syslog));
    expect(parsed.ok, parsed.ok ? '' : parsed.errors.map(formatPolicyError).join('\n')).toBe(true);
    expect(parsed.ok && parsed.fragment.audit?.settings.syslog).toEqual({ socket: null, tcp, tls, facility: 'auth' });
  });

  it.each([
    [
      'tls without tcp',
      '    socket: /dev/log\n    tls: { ca: /etc/ca.pem }\n',
      ['p.yaml:5: audit.syslog.tls: needs tcp: HOST:PORT, the collector to reach over TLS'],
    ],
    [
      'tls alone',
      '    tls: { ca: /etc/ca.pem }\n',
      [
        'p.yaml:4: audit.syslog.tls: needs tcp: HOST:PORT, the collector to reach over TLS',
        'p.yaml:4: audit.syslog: expected socket, tcp or both',
      ],
    ],
    [
      'a relative ca',
      '    tcp: "logs.example.org:6514"\n    tls: { ca: ca.pem }\n',
      [
        'p.yaml:5: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector\'s certificate, got "ca.pem"',
      ],
    ],
    [
      'a ca with ..',
      '    tcp: "logs.example.org:6514"\n    tls: { ca: /etc/../tmp/ca.pem }\n',
      [
        'p.yaml:5: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector\'s certificate, got "/etc/../tmp/ca.pem"',
      ],
    ],
    [
      'a ca that is a list',
      '    tcp: "logs.example.org:6514"\n    tls:\n      ca: [/etc/a.pem, /etc/b.pem]\n',
      [
        "p.yaml:6: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector's certificate, got a list",
      ],
    ],
    ['no ca', '    tcp: "logs.example.org:6514"\n    tls: {}\n', ['p.yaml:5: audit.syslog.tls: missing required key "ca"']],
    [
      'an unknown key under tls',
      '    tcp: "logs.example.org:6514"\n    tls:\n      ca: /etc/ca.pem\n      verify: false\n',
      ['p.yaml:7: audit.syslog.tls.verify: unknown key (expected one of: ca)'],
    ],
    [
      'a misspelt ca',
      '    tcp: "logs.example.org:6514"\n    tls: { caa: /etc/ca.pem }\n',
      ['p.yaml:5: audit.syslog.tls.caa: unknown key, did you mean "ca"? (expected one of: ca)'],
    ],
    [
      'cafile for ca',
      '    tcp: "logs.example.org:6514"\n    tls: { cafile: /etc/ca.pem }\n',
      ['p.yaml:5: audit.syslog.tls.cafile: unknown key (expected one of: ca)', 'p.yaml:5: audit.syslog.tls: missing required key "ca"'],
    ],
    [
      'tls as a string',
      '    tcp: "logs.example.org:6514"\n    tls: /etc/ca.pem\n',
      ['p.yaml:5: audit.syslog.tls: expected a mapping, got "/etc/ca.pem"'],
    ],
    [
      'tls: true',
      '    tcp: "logs.example.org:6514"\n    tls: true\n',
      ['p.yaml:5: audit.syslog.tls: expected a mapping, got boolean true'],
    ],
  ])('refuses %s', (_name, syslog, expected) => {
    expect(errorsOf(audit(syslog))).toEqual(expected);
  });
});
