/**
 * Policy parsing: each invalid policy gives an error naming line, key and what was expected;
 * a wrong policy must never load with part of it ignored.
 */
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicyText } from '../../src/policy/parse.js';

function errorsOf(yaml: string): string[] {
  const parsed = parsePolicyText('p.yaml', yaml);
  if (parsed.ok) throw new Error('expected errors, the policy loaded');
  return parsed.errors.map(formatPolicyError);
}

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  ['a missing version', 'identities: {}\n', 'p.yaml:1: missing required key "version"'],
  ['a wrong version', 'version: 2\n', 'p.yaml:1: version: expected 1, got number 2'],
  ['a string version', 'version: "1"\n', 'p.yaml:1: version: expected 1, got "1"'],
  ['an unknown top-level key', 'version: 1\nidentites: {}\n', 'p.yaml:2: identites: unknown key, did you mean "identities"? (expected one of: version, audit, identities)'],
  ['a misspelt identity key', 'version: 1\nidentities:\n  a:\n    form: [1.2.3.4]\n    rules: []\n', 'p.yaml:4: identities.a.form: unknown key, did you mean "from"? (expected one of: from, keys, accounts, principals, expires, max-sessions, min-free, rules)'],
  ['missing rules', 'version: 1\nidentities:\n  a: {}\n', 'p.yaml:3: identities.a: missing required key "rules"'],
  ['a bad identity name', 'version: 1\nidentities:\n  "../x":\n    rules: []\n', 'p.yaml:3: identities.../x: expected a name of letters'],
  ['a duplicate identity in one file', 'version: 1\nidentities:\n  a:\n    rules: []\n  a:\n    rules: []\n', 'p.yaml:5: YAML: Map keys must be unique'],
  ['a bad from entry', 'version: 1\nidentities:\n  a:\n    from: [127.1]\n    rules: []\n', 'p.yaml:4: identities.a.from[0]: expected an IP address or CIDR'],
  ['from as a string', 'version: 1\nidentities:\n  a:\n    from: 1.2.3.4\n    rules: []\n', 'p.yaml:4: identities.a.from: expected a list, got "1.2.3.4"'],
  ['a bad key fingerprint', 'version: 1\nidentities:\n  a:\n    keys: [MD5:aa]\n    rules: []\n', 'p.yaml:4: identities.a.keys[0]: expected a key fingerprint'],
  ['a certificate in keys', 'version: 1\nidentities:\n  a:\n    keys: ["ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIE81vXeRYL2p9Aur3MbX5Ggks+af2mSI56rbyBlFL8V0AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeUAAAAAAAAACoAAAABAAAAFGFsaWNlQGxhcHRvcCBlZDI1NTE5AAAAGQAAAAVhbGljZQAAAAxiYWNrdXAtaG9zdHMAAAAAaVW5AAAAAABrNuyAAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgReIZpEm9vw6HZgbmC59KMqIRRFTR44gnG4NN84rhKPwAAABTAAAAC3NzaC1lZDI1NTE5AAAAQBbPRJq4gURFMjbFSBpIG4xOy7OMB2VOoedRyq1XdLPUIJICXtnebmHPWDW1ghM3CWrO1rO/Tv4MY2L1ucHiLwY= user-ed25519"]\n    rules: []\n', 'p.yaml:4: identities.a.keys[0]: a certificate: list its principals under principals: instead'],
  ['a public key with an altered blob', 'version: 1\nidentities:\n  a:\n    keys: ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeU"]\n    rules: []\n', 'p.yaml:4: identities.a.keys[0]: expected a key fingerprint (SHA256:..., as ssh-keygen -lf prints it) or a public key (ssh-ed25519 AAAA... [comment]); this one does not parse'],
  ['an account that is no account name', 'version: 1\nidentities:\n  a:\n    accounts: [Backup]\n    rules: []\n', 'p.yaml:4: identities.a.accounts[0]: expected an account name'],
  ['accounts as a string', 'version: 1\nidentities:\n  a:\n    accounts: backup\n    rules: []\n', 'p.yaml:4: identities.a.accounts: expected a list, got "backup"'],
  ['a principal with a space', 'version: 1\nidentities:\n  a:\n    principals: ["alice smith"]\n    rules: []\n', 'p.yaml:4: identities.a.principals[0]: expected a certificate principal'],
  ['an impossible date', 'version: 1\nidentities:\n  a:\n    expires: 2027-02-30\n    rules: []\n', 'p.yaml:4: identities.a.expires: expected a date YYYY-MM-DD, got "2027-02-30"'],
  ['a rule without a kind', `${header}      - name: x\n`, 'p.yaml:5: identities.a.rules[0]: expected exactly one rule kind'],
  ['a rule with two kinds', `${header}      - name: x\n        exec: { command: /bin/true }\n        relay: {}\n`, 'got exec and relay'],
  ['a rule without a name', `${header}      - exec: { command: /bin/true }\n`, 'p.yaml:5: identities.a.rules[0]: missing required key "name"'],
  ['a boolean rule name', `${header}      - name: true\n        exec: { command: /bin/true }\n`, 'identities.a.rules[0].name: expected a name of letters, digits and . _ @ - (at most 64, starting with a letter or digit), got boolean true'],
  ['duplicate rule names', `${header}      - name: x\n        exec: { command: /bin/true }\n      - name: x\n        exec: { command: /bin/true }\n`, 'p.yaml:7: identities.a.rules[1].name: duplicate rule name "x" (first at line 5)'],
  ['an unknown exec key', `${header}      - name: x\n        exec: { command: /bin/true, shell: true }\n`, 'identities.a.rules[0].exec.shell: unknown key'],
  ['a relative program', `${header}      - name: x\n        exec: { command: ls -l }\n`, 'the first word "ls" is not an absolute path: add program: /absolute/path/of/ls'],
  ['a program with ..', `${header}      - name: x\n        exec: { command: ls, program: /bin/../tmp/ls }\n`, 'exec.program: expected an absolute path without . or .. parts'],
  ['a program that is a glob', `${header}      - name: x\n        exec: { command: ls, program: /bin/l* }\n`, 'exec.program: expected a literal path, not a pattern'],
  ['quotes in the string form', `${header}      - name: x\n        exec: { command: "cat 'a b'", program: /bin/cat }\n`, 'write the command as a list of words instead'],
  ['an empty command', `${header}      - name: x\n        exec: { command: "", program: /bin/cat }\n`, 'exec.command: expected at least one word'],
  ['an unquoted octal umask', `${header}      - name: x\n        exec: { command: /bin/true, umask: 0077 }\n`, 'YAML reads an unquoted 77 as a decimal number'],
  ['a bad umask', `${header}      - name: x\n        exec: { command: /bin/true, umask: "0999" }\n`, 'exec.umask: expected an octal mask such as "0077", got "0999"'],
  ['a bad timeout', `${header}      - name: x\n        exec: { command: /bin/true, timeout: 5 minutes }\n`, 'exec.timeout: expected a duration such as 90s, 5m, 2h, got "5 minutes"'],
  ['a timeout without supervision', `${header}      - name: x\n        exec: { command: /bin/true, timeout: 5m, supervise: false }\n`, 'a timeout needs supervise: true'],
  ['a string supervise', `${header}      - name: x\n        exec: { command: /bin/true, supervise: "no" }\n`, 'exec.supervise: expected true or false, got "no"'],
  ['LD_PRELOAD in env', `${header}      - name: x\n        exec: { command: /bin/true, env: { LD_PRELOAD: /tmp/x.so } }\n`, 'exec.env.LD_PRELOAD: refused'],
  ['NODE_OPTIONS in env', `${header}      - name: x\n        exec: { command: /bin/true, env: { NODE_OPTIONS: --require=x } }\n`, 'exec.env.NODE_OPTIONS: refused'],
  ['SSH_AUTH_SOCK in env', `${header}      - name: x\n        exec: { command: /bin/true, env: { SSH_AUTH_SOCK: /tmp/a } }\n`, 'exec.env.SSH_AUTH_SOCK: refused'],
  ['__proto__ in env (a plain object would drop it silently)', `${header}      - name: x\n        exec: { command: /bin/true, env: { __proto__: x } }\n`, 'exec.env.__proto__: refused'],
  ['BASH_ENV in env', `${header}      - name: x\n        exec: { command: /bin/true, env: { BASH_ENV: /tmp/a } }\n`, 'exec.env.BASH_ENV: refused'],
  ['a bad env name', `${header}      - name: x\n        exec: { command: /bin/true, env: { "A-B": x } }\n`, 'exec.env.A-B: expected a variable name'],
  ['a relative cwd', `${header}      - name: x\n        exec: { command: /bin/true, cwd: srv }\n`, 'exec.cwd: expected an absolute path'],
  ['an unknown rule kind', `${header}      - name: x\n        ftp: { root: /srv }\n`, 'identities.a.rules[0].ftp: unknown key, did you mean "sftp"? (expected one of: name, exec, rsync, receive, relay, sftp, expect-every, min-bytes)'],
  ['an expect-every that is no duration', `${header}      - name: x\n        expect-every: daily\n        exec: { command: /bin/true }\n`, 'identities.a.rules[0].expect-every: expected a duration such as 26h'],
  ['an expect-every past a year', `${header}      - name: x\n        expect-every: 400d\n        exec: { command: /bin/true }\n`, 'rules[0].expect-every'],
  ['a min-bytes that is no size', `${header}      - name: x\n        min-bytes: lots\n        exec: { command: /bin/true }\n`, 'identities.a.rules[0].min-bytes: expected a size such as 1MiB'],
  ['a min-bytes as a bare number (sizes are strings, like max-bytes)', `${header}      - name: x\n        min-bytes: 4096\n        exec: { command: /bin/true }\n`, 'identities.a.rules[0].min-bytes: expected a size'],
  ['rsync paths: with the sandbox off (found in review: -L followed a symlink in a path out of it)', `${header}      - name: x\n        rsync: { root: /, access: read, paths: [/etc], sandbox: false }\n`, 'rsync.sandbox: paths: needs the sandbox'],
  ['rsync paths: outside root', `${header}      - name: x\n        rsync: { root: /srv, access: read, paths: [/etc] }\n`, 'rsync.paths: /etc is not under root /srv'],
  ['rsync paths: one inside another', `${header}      - name: x\n        rsync: { root: /, access: read, paths: [/etc, /etc/ssh] }\n`, 'rsync.paths: /etc/ssh is listed twice or lies in another'],
  ['an sftp rule without access', `${header}      - name: x\n        sftp: { root: /srv }\n`, 'identities.a.rules[0].sftp: missing required key "access"'],
  ['an sftp rule rooted at /', `${header}      - name: x\n        sftp: { root: /, access: read }\n`, 'sftp.root: the whole filesystem cannot be an sftp root'],
  ['an sftp read rule that says it may delete', `${header}      - name: x\n        sftp: { root: /srv, access: read, delete: true }\n`, 'sftp.delete: means nothing with access: read'],
  ['an sftp umask unquoted', `${header}      - name: x\n        sftp: { root: /srv, access: write, umask: 77 }\n`, 'sftp.umask'],
  ['a bad sftp min-free', `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: lots }\n`, 'sftp.min-free: expected a size such as 1GiB, 512MiB, or "0" for no floor, got "lots"'],
  ['an sftp min-free as a YAML number', `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: 0 }\n`, 'sftp.min-free: expected a size such as 1GiB, 512MiB, or "0" for no floor, got number 0'],
  ['a negative sftp min-free', `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: -1GiB }\n`, 'sftp.min-free: expected a size'],
  ['an sftp idle-timeout without a unit', `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: "90" }\n`, 'sftp.idle-timeout: expected a duration such as 90s, 10m, or "0" for none, got "90"'],
  ['an sftp idle-timeout past 366 days', `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: 367d }\n`, 'sftp.idle-timeout: expected a duration'],
  ['an sftp idle-timeout of 0s', `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: 0s }\n`, 'sftp.idle-timeout: expected a duration such as 90s, 10m, or "0" for none, got "0s"'],
  ['an exec sandbox path listed twice', `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/srv], write: [/srv] } }\n`, 'exec.sandbox: /srv is listed twice'],
  ['an exec sandbox of the whole filesystem', `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/] } }\n`, 'exec.sandbox: the whole filesystem (/) cannot be a sandbox path'],
  ['an exec cwd outside its sandbox', `${header}      - name: x\n        exec: { command: "du -sh /srv", cwd: /tmp, sandbox: { read: [/srv] } }\n`, 'exec.cwd: the program starts in cwd, so it must lie in one of sandbox.read or sandbox.write'],
  ['an exec sandbox key unknown', `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { exec: [/srv] } }\n`, 'exec.sandbox.exec: unknown key (expected one of: read, write, secrets)'],
  ['an exec sandbox secrets value unknown', `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/etc], secrets: show } }\n`, 'exec.sandbox.secrets: expected one of serve, withhold'],
  ['an rsync secrets value unknown', `${header}      - name: x\n        rsync: { root: /, paths: [/etc], access: read, secrets: yes }\n`, 'rsync.secrets: expected one of serve, withhold'],
  ['rsync secrets without the sandbox', `${header}      - name: x\n        rsync: { root: /srv, access: read, sandbox: false, secrets: serve }\n`, 'rsync.secrets: needs the sandbox'],
  ['rsync secrets on a write-only rule', `${header}      - name: x\n        rsync: { root: /srv, access: write, secrets: withhold }\n`, 'rsync.secrets: a write-only rule reads nothing back'],
  ['a relay destination in a non-canonical form', `${header}      - name: x\n        relay: { to: ["127.1:22"] }\n`, 'relay.to[0]: expected HOST:PORT'],
  ['a relay without destinations', `${header}      - name: x\n        relay: { to: [] }\n`, 'relay.to: expected at least one destination'],
  ['a receive rule without a name', `${header}      - name: x\n        receive: { dir: /srv }\n`, 'identities.a.rules[0].receive: missing required key "name"'],
  ['a receive name with a slash', `${header}      - name: x\n        receive: { dir: /srv, name: "a/b-{date}" }\n`, 'receive.name: expected a file name'],
  ['a receive name starting with a dot', `${header}      - name: x\n        receive: { dir: /srv, name: ".ssh" }\n`, 'receive.name: expected a file name'],
  ['an unknown placeholder', `${header}      - name: x\n        receive: { dir: /srv, name: "b-{host}" }\n`, 'receive.name: expected a file name'],
  ['a client-name with a slash', `${header}      - name: x\n        receive: { dir: /srv, name: b, client-name: "*/x" }\n`, 'receive.client-name: expected a file name glob'],
  ['an unquoted mode', `${header}      - name: x\n        receive: { dir: /srv, name: b, mode: 0600 }\n`, 'YAML reads an unquoted 600 as a decimal number'],
  ['a bad size', `${header}      - name: x\n        receive: { dir: /srv, name: b, max-bytes: lots }\n`, 'receive.max-bytes: expected a size'],
  ['keep 0', `${header}      - name: x\n        receive: { dir: /srv, name: b, keep: 0 }\n`, 'receive.keep: expected a whole number of files, 1 or more'],
  ['an rsync rule without access', `${header}      - name: x\n        rsync: { root: /srv }\n`, 'identities.a.rules[0].rsync: missing required key "access"'],
  ['an rsync rule with a bad access', `${header}      - name: x\n        rsync: { root: /srv, access: all }\n`, 'rsync.access: expected one of read, write, read-write, got "all"'],
  ['an rsync rule with a relative root', `${header}      - name: x\n        rsync: { root: srv, access: read }\n`, 'rsync.root: expected an absolute path'],
  ['max-delete without delete', `${header}      - name: x\n        rsync: { root: /srv, access: write, max-delete: 10 }\n`, 'rsync.max-delete: needs delete: true'],
  ['a negative max-delete', `${header}      - name: x\n        rsync: { root: /srv, access: write, delete: true, max-delete: -1 }\n`, 'rsync.max-delete: expected a whole number of files'],
  ['a bad rsync min-free', `${header}      - name: x\n        rsync: { root: /srv, access: write, min-free: lots }\n`, 'rsync.min-free: expected a size such as 1GiB, 512MiB, or 0 for no floor, got "lots"'],
  ['a push floor that nothing would keep', `${header}      - name: x\n        rsync: { root: /srv, access: write, supervise: false }\n`, 'rsync.supervise: supervise: false cannot keep min-free for pushes; set min-free: 0'],
  ['an unknown rsync key', `${header}      - name: x\n        rsync: { root: /srv, access: write, delete-ok: true }\n`, 'rsync.delete-ok: unknown key'],
  ['a relative audit file', 'version: 1\naudit:\n  file: audit.jsonl\n', 'p.yaml:3: audit.file: expected an absolute path without . or .. parts, got "audit.jsonl"'],
  ['YAML syntax', 'version: 1\nidentities: [\n', 'p.yaml:'],
  ['two documents', 'version: 1\n---\nversion: 1\n', 'YAML: Source contains multiple documents'],
  ['a control character in a value', `${header}      - name: x\n        exec: { command: "/bin/echo \\x1b" }\n`, 'control characters are not allowed'],
  ['a top-level list', '- version: 1\n', 'p.yaml:1: expected a mapping, got a list'],
  ['an empty file', '', 'p.yaml:1: expected a mapping, got'],
];

describe('parsePolicyText', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(errorsOf(yaml).join('\n')).toContain(expected);
  });

  it('reports every error, not only the first', () => {
    const errors = errorsOf(`${header}      - name: x\n        exec: { command: ls }\n      - name: y\n        exec: { command: /bin/true, umask: 7 }\n`);
    expect(errors).toHaveLength(2);
  });

  it('reads a full exec rule', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      `${header}      - name: x\n        exec:\n          command: [cat, "a b"]\n          program: /bin/cat\n          env: { TZ: UTC }\n          cwd: /srv\n          umask: "0077"\n          timeout: 90s\n`,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules[0]).toEqual({
      kind: 'exec',
      name: 'x',
      where: { file: 'p.yaml', line: 5 },
      pattern: ['cat', 'a b'],
      rest: false,
      program: '/bin/cat',
      run: null,
      env: { TZ: 'UTC' },
      passEnv: [],
      cwd: '/srv',
      umask: 0o077,
      timeoutMs: 90_000,
      supervise: true,
      sandbox: null,
      expectEvery: null,
      minBytes: null,
    });
  });

  it('reads expect-every on any rule kind, next to name', () => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        expect-every: 26h\n        rsync: { root: /srv, access: write }\n      - { name: y, expect-every: 8d, receive: { dir: /srv, name: b } }\n`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules.map((r) => [r.name, r.kind, r.expectEvery])).toEqual([['x', 'rsync', 26 * 3_600_000], ['y', 'receive', 8 * 86_400_000]]);
  });

  it('reads min-bytes on any rule kind, next to expect-every', () => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        expect-every: 26h\n        min-bytes: 1MiB\n        rsync: { root: /srv, access: write }\n      - { name: y, min-bytes: "4096", receive: { dir: /srv, name: b } }\n      - { name: z, receive: { dir: /srv, name: c } }\n`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules.map((r) => [r.name, r.minBytes])).toEqual([['x', 2 ** 20], ['y', 4096], ['z', null]]);
  });

  it.each([
    ['access: write', 2 ** 30],
    ['access: write, min-free: 200MiB', 200 * 2 ** 20],
    ['access: write, min-free: "0", supervise: false', 0],
    ['access: read, supervise: false', 2 ** 30], // a pull writes nothing under root: no floor to keep
  ])('an rsync rule with %s keeps a floor of %d bytes', (keys, bytes) => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        rsync: { root: /srv, ${keys} }\n`);
    expect(parsed.ok && parsed.fragment.identities[0]!.rules[0]).toMatchObject({ kind: 'rsync', minFreeBytes: bytes });
  });

  it.each([
    ['access: write', 2 ** 30, 600_000],
    ['access: write, min-free: 4MiB, idle-timeout: 2s', 4 * 2 ** 20, 2000],
    ['access: read-write, min-free: 1.5GB, idle-timeout: 1h', 1.5e9, 3_600_000],
    ['access: write, min-free: "0", idle-timeout: "0"', 0, 0],
  ])('an sftp rule with %s keeps a floor of %d bytes and ends idle sessions after %d ms (0: neither)', (keys, bytes, ms) => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        sftp: { root: /srv, ${keys} }\n`);
    expect(parsed.ok && parsed.fragment.identities[0]!.rules[0]).toMatchObject({ kind: 'sftp', minFreeBytes: bytes, idleTimeoutMs: ms });
  });

  it('reads keys as fingerprints or public keys (kept as fingerprints), accounts and principals', () => {
    const parsed = parsePolicyText('p.yaml', 'version: 1\nidentities:\n  a:\n    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM5nsMvB8T2VZaXz5fmyqkWO+1et8vzdn6ET42C7DCeU user-ed25519"]\n    accounts: [backup, root]\n    principals: [alice, ops@example.com]\n    rules: []\n');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.fragment.identities[0]).toMatchObject({
      keys: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', 'SHA256:wTKbvkNy4tZ/AsXX/kQ7stfVTQOF4j3/DDX0ns7TsrY'],
      accounts: ['backup', 'root'],
      principals: ['alice', 'ops@example.com'],
    });
  });

  it('resolves YAML aliases (a shared from list)', () => {
    const parsed = parsePolicyText('p.yaml', 'version: 1\nidentities:\n  a:\n    from: &office [192.0.2.0/24]\n    rules: []\n  b:\n    from: *office\n    rules: []\n');
    expect(parsed.ok && parsed.fragment.identities[1]!.from?.[0]?.text).toBe('192.0.2.0/24');
  });
});

describe('one mistake, one error (issue 18)', () => {
  it('a misspelt required key: the unknown key with "did you mean", not also missing and empty (once at line 1)', () => {
    expect(errorsOf(`${header}      - nam: x\n        exec: { command: /bin/true }\n`)).toEqual(['p.yaml:5: identities.a.rules[0].nam: unknown key, did you mean "name"? (expected one of: name, exec, rsync, receive, relay, sftp, expect-every, min-bytes)']);
    expect(errorsOf(`${header}      - name: x\n        rsync: { root: /srv, acess: read }\n`)).toEqual([expect.stringMatching(/^p\.yaml:6: identities\.a\.rules\[0\]\.rsync\.acess: unknown key, did you mean "access"\? /)]);
  });

  it('a missing required key with no near miss: one error, not also an empty value at line 1', () => {
    expect(errorsOf(`${header}      - exec: { command: /bin/true }\n`)).toEqual(['p.yaml:5: identities.a.rules[0]: missing required key "name"']);
  });

  it('no suggestion beyond edit distance 2', () => {
    expect(errorsOf(`${header}      - name: x\n        exec: { command: /bin/true, xyzzy: 1 }\n`).join('\n')).toMatch(/exec\.xyzzy: unknown key \(expected/);
  });

  it('a tab in the indentation: one error at its line, not the parser\'s consequences', () => {
    expect(errorsOf(`${header}\t- name: x\n`)).toEqual(['p.yaml:5: YAML: a tab in the indentation: YAML indents with spaces only']);
  });
});

describe('audit.syslog.tls', () => {
  const audit = (syslog: string) => `version: 1\naudit:\n  syslog:\n${syslog}`;

  it.each([
    ['a name', '    tcp: "logs.example.org:6514"\n    tls: { ca: /etc/ssh-dispatch/ca.pem }\n', { host: 'logs.example.org', port: 6514 }, { ca: '/etc/ssh-dispatch/ca.pem', where: { file: 'p.yaml', line: 5 } }],
    ['an IPv6 address, block style', '    tcp: "[2001:db8::1]:6514"\n    tls:\n      ca: /etc/ca.pem\n', { host: '2001:db8::1', port: 6514 }, { ca: '/etc/ca.pem', where: { file: 'p.yaml', line: 6 } }],
    ['no tls: plain tcp, as before', '    tcp: "127.0.0.1:514"\n', { host: '127.0.0.1', port: 514 }, null],
  ])('reads tcp with %s', (_name, syslog, tcp, tls) => {
    const parsed = parsePolicyText('p.yaml', audit(syslog));
    expect(parsed.ok, parsed.ok ? '' : parsed.errors.map(formatPolicyError).join('\n')).toBe(true);
    expect(parsed.ok && parsed.fragment.audit?.settings.syslog).toEqual({ socket: null, tcp, tls, facility: 'auth' });
  });

  it.each([
    ['tls without tcp', '    socket: /dev/log\n    tls: { ca: /etc/ca.pem }\n', ['p.yaml:5: audit.syslog.tls: needs tcp: HOST:PORT, the collector to reach over TLS']],
    ['tls alone', '    tls: { ca: /etc/ca.pem }\n', ['p.yaml:4: audit.syslog.tls: needs tcp: HOST:PORT, the collector to reach over TLS', 'p.yaml:4: audit.syslog: expected socket, tcp or both']],
    ['a relative ca', '    tcp: "logs.example.org:6514"\n    tls: { ca: ca.pem }\n', ['p.yaml:5: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector\'s certificate, got "ca.pem"']],
    ['a ca with ..', '    tcp: "logs.example.org:6514"\n    tls: { ca: /etc/../tmp/ca.pem }\n', ['p.yaml:5: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector\'s certificate, got "/etc/../tmp/ca.pem"']],
    ['a ca that is a list', '    tcp: "logs.example.org:6514"\n    tls:\n      ca: [/etc/a.pem, /etc/b.pem]\n', ['p.yaml:6: audit.syslog.tls.ca: expected the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector\'s certificate, got a list']],
    ['no ca', '    tcp: "logs.example.org:6514"\n    tls: {}\n', ['p.yaml:5: audit.syslog.tls: missing required key "ca"']],
    ['an unknown key under tls', '    tcp: "logs.example.org:6514"\n    tls:\n      ca: /etc/ca.pem\n      verify: false\n', ['p.yaml:7: audit.syslog.tls.verify: unknown key (expected one of: ca)']],
    ['a misspelt ca', '    tcp: "logs.example.org:6514"\n    tls: { caa: /etc/ca.pem }\n', ['p.yaml:5: audit.syslog.tls.caa: unknown key, did you mean "ca"? (expected one of: ca)']],
    ['cafile for ca', '    tcp: "logs.example.org:6514"\n    tls: { cafile: /etc/ca.pem }\n', ['p.yaml:5: audit.syslog.tls.cafile: unknown key (expected one of: ca)', 'p.yaml:5: audit.syslog.tls: missing required key "ca"']],
    ['tls as a string', '    tcp: "logs.example.org:6514"\n    tls: /etc/ca.pem\n', ['p.yaml:5: audit.syslog.tls: expected a mapping, got "/etc/ca.pem"']],
    ['tls: true', '    tcp: "logs.example.org:6514"\n    tls: true\n', ['p.yaml:5: audit.syslog.tls: expected a mapping, got boolean true']],
  ])('refuses %s', (_name, syslog, expected) => {
    expect(errorsOf(audit(syslog))).toEqual(expected);
  });
});
