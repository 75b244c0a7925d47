/** explain and check, as a sysadmin runs them: exit statuses, text and JSON. */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, NODE } from './lab.js';
import { runBundle } from './run-bundle.js';

let dir: string;
let policy: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-cli-'));
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
identities:
  host1-backup:
    from: [192.0.2.10]
    rules:
      - name: disk-usage
        exec:
          command: "du -sh /srv/backup/host1/*"
          program: /usr/bin/du
`,
    { mode: 0o600 },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('explain', () => {
  it.each([['explain'], ['check'], ['authorized-key'], ['logs']])(
    '%s with an unknown flag: a usage error (exit 2, one line and a hint), not an internal error (found: explain, check and authorized-key returned their promise unawaited)',
    (command) => {
      const r = runBundle([command, '--bogus']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^ssh-dispatch: Unknown option '--bogus'.*\nTry: ssh-dispatch --help\n$/s);
      expect(r.stderr).not.toContain('internal error');
    },
  );

  it('an rsync -s command, with what it would send on the connection given by --protected-arg (BackupPC)', () => {
    const own = join(dir, 'protected.yaml');
    mkdirSync(join(dir, 'share'), { recursive: true, mode: 0o755 });
    writeFileSync(
      own,
      `version: 1\nidentities:\n  bpc: { rules: [ { name: share, rsync: { root: ${join(dir, 'share')}, access: read } } ] }\n`,
      { mode: 0o600 },
    );
    const explain = (...args: string[]) =>
      JSON.parse(
        runBundle(['explain', '--json', '--id', 'bpc', '--policy', own, ...args, '--', 'rsync --server --sender -slogDtpre.iLsfxCIvu'])
          .stdout,
      ) as Record<string, unknown>;
    const allowed = explain('--protected-arg=--numeric-ids', '--protected-arg', '.', '--protected-arg', '/');
    expect(allowed).toMatchObject({ decision: 'allow', rule: 'share' });
    expect(allowed.argv).toEqual(expect.arrayContaining(['-logDtpre.iLsfxCIvu', '--numeric-ids', '.']));
    expect(explain('--protected-arg=--delete', '--protected-arg', '.', '--protected-arg', '/')).toMatchObject({ decision: 'deny' });
    // Without them, -s is refused: the real arguments would come after the check.
    expect(explain()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('allow: exit 0, the rule, its file:line and the argv', () => {
    const r = runBundle([
      'explain',
      '--id',
      'host1-backup',
      '--policy',
      policy,
      '--from',
      '192.0.2.10',
      '--',
      'du -sh /srv/backup/host1/etc',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`allow  by rule "disk-usage" (${policy}:6)`);
    expect(r.stdout).toContain('argv     ["/usr/bin/du","-sh","/srv/backup/host1/etc"]');
  });

  it('deny: exit 1 and the reason', () => {
    const r = runBundle(['explain', '--id', 'host1-backup', '--policy', policy, '--from', '192.0.2.10', '--', 'du -sh /etc']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('deny   no-rule-matched');
  });

  it('--json prints decision, rule, argv and reason', () => {
    const allow = runBundle([
      'explain',
      '--json',
      '--id',
      'host1-backup',
      '--policy',
      policy,
      '--from',
      '192.0.2.10',
      '--',
      'du -sh /srv/backup/host1/etc',
    ]);
    expect(JSON.parse(allow.stdout)).toMatchObject({
      decision: 'allow',
      rule: 'disk-usage',
      argv: ['/usr/bin/du', '-sh', '/srv/backup/host1/etc'],
      reason: null,
    });
    const deny = runBundle(['explain', '--json', '--id', 'host1-backup', '--policy', policy, '--', 'du -sh /srv/backup/host1/etc']);
    expect(deny.code).toBe(1);
    expect(JSON.parse(deny.stdout)).toMatchObject({ decision: 'deny', rule: null, argv: null, reason: 'from-unknown' });
  });

  it('joins several words as ssh does, and reads an empty command as a session without one', () => {
    const words = runBundle([
      'explain',
      '--json',
      '--id',
      'host1-backup',
      '--policy',
      policy,
      '--from',
      '192.0.2.10',
      '--',
      'du',
      '-sh',
      '/srv/backup/host1/etc',
    ]);
    expect(JSON.parse(words.stdout).decision).toBe('allow');
    const empty = runBundle(['explain', '--json', '--id', 'host1-backup', '--policy', policy, '--from', '192.0.2.10', '--', '']);
    expect(JSON.parse(empty.stdout).reason).toBe('no-command');
  });

  it('--trace lists each rule tried', () => {
    const r = runBundle([
      'explain',
      '--trace',
      '--id',
      'host1-backup',
      '--policy',
      policy,
      '--from',
      '192.0.2.10',
      '--',
      'du -sh /srv/backup/host1/a/b',
    ]);
    expect(r.stdout).toContain(`skip     disk-usage (${policy}:6): word 3: does not match "/srv/backup/host1/*"`);
  });

  it('an unknown identity is a deny, as for a connection', () => {
    const r = runBundle(['explain', '--json', '--id', 'nobody', '--policy', policy, '--', 'ls']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('unknown-identity');
  });

  it('shows control characters escaped, never raw', () => {
    const r = runBundle([
      'explain',
      '--trace',
      '--id',
      'host1-backup',
      '--policy',
      policy,
      '--from',
      '192.0.2.10',
      '--',
      'du -sh \u001b[2J',
    ]);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('tokenize-control-character');
  });

  it.each([
    [['explain', '--policy', 'x', '--', 'ls'], '--id ID is required'],
    [['explain', '--id', 'a', '--policy', 'x'], 'give the command after --'],
    [['explain', '--id', 'a', '--from', '127.1', '--', 'ls'], '--from: not an IP address'],
    [['explain', '--id', 'a', '--bogus', '--', 'ls'], "Unknown option '--bogus'"],
  ])('usage errors exit 2: %j', (args, message) => {
    const r = runBundle(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('an unloadable policy exits 2 with its errors', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nidentites: {}\n', { mode: 0o600 });
    const r = runBundle(['explain', '--id', 'a', '--policy', bad, '--', 'ls']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2: identites: unknown key`);
  });
});

describe('check', () => {
  it('exit 0 and a summary for a good policy', () => {
    const r = runBundle(['check', '--policy', policy]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: 1 identities, 1 rules in 1 file(s); audit log /var/log/ssh-dispatch/audit.jsonl');
  });

  it('exit 1 and file:line errors for a bad one', () => {
    const bad = join(dir, 'bad2.yaml');
    writeFileSync(bad, 'version: 1\nidentities:\n  a:\n    rules:\n      - name: x\n        exec: { command: ls }\n', { mode: 0o600 });
    chmodSync(bad, 0o600);
    const r = runBundle(['check', '--policy', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}:6: identities.a.rules[0].exec.command: the first word "ls" is not an absolute path`);
  });

  it('--help says what it does', () => {
    expect(runBundle(['check', '--help']).stdout).toContain('Usage: ssh-dispatch check');
    expect(runBundle(['--help']).stdout).toContain('ssh-dispatch explain');
  });
});

describe('explain, a pull the account cannot reach', () => {
  it('is rsync-source-unreachable with the errno, not an internal error', () => {
    const work = mkdtempSync(join(tmpdir(), 'ssh-dispatch-unreachable-'));
    try {
      chmodSync(work, 0o755);
      mkdirSync(join(work, 'root', 'locked', 'sub'), { recursive: true });
      chmodSync(join(work, 'root'), 0o755);
      chmodSync(join(work, 'root', 'locked'), 0o700);
      const policy = join(work, 'p.yaml');
      writeFileSync(
        policy,
        `version: 1\nidentities:\n  r: { rules: [ { name: pull, rsync: { root: ${join(work, 'root')}, access: read } } ] }\n`,
        { mode: 0o644 },
      );
      // As root, explain runs as nobody; otherwise the directory is closed to its owner too.
      const asRoot = process.getuid?.() === 0;
      if (!asRoot) chmodSync(join(work, 'root', 'locked'), 0o000);
      const argv = [
        ...(asRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []),
        NODE,
        BUNDLE,
        'explain',
        '--json',
        '--policy',
        policy,
        '--id',
        'r',
        '--',
        'rsync --server --sender -logDtpre.iLsfxCIvu . locked/sub/',
      ];
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      expect(r.status, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        decision: 'deny',
        reason: 'rsync-source-unreachable',
        detail: expect.stringContaining('(EACCES)'),
      });
    } finally {
      chmodSync(join(work, 'root', 'locked'), 0o700);
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('--version', () => {
  it('names the version from package.json, the build and the runtime, as --version and as version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const args of [['--version'], ['version']]) {
      const r = runBundle(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^ssh-dispatch ${version.replaceAll('.', '\\.')} \\(build [0-9a-f]{16}\\) on Node\\.js v\\d+\\.\\d+\\.\\d+\n$`),
      );
    }
  });

  it('is not forced-command mode, and a forced-command line with --version is still refused', () => {
    expect(runBundle(['--id', 'x', '--version'], { SSH_ORIGINAL_COMMAND: 'true' }).code).toBe(126);
  });
});

describe('check, lint and unsafe write rules', () => {
  it('fails on a write rule that reaches a home directory or the policy directory', () => {
    const lintDir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-lint-'));
    try {
      const policy = join(lintDir, 'p.yaml');
      writeFileSync(
        policy,
        `version: 1
identities:
  a:
    rules:
      - { name: homes, rsync: { root: /root, access: write } }
      - { name: everything, rsync: { root: /, access: read-write } }
      - { name: beside-policy, receive: { dir: ${lintDir}, name: "x-{date}" } }
      - { name: read-only-is-fine, rsync: { root: /root, access: read } }
`,
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${policy}:5: UNSAFE: rule "homes" of a writes to /root, which is /root, the home of root (uid 0)`);
      expect(r.stdout).toMatch(
        new RegExp(
          `${policy}:6: UNSAFE: rule "everything" of a writes to /, which contains /etc/sudoers.d, sudoers rules; .*; and \\d+ more`,
        ),
      );
      expect(r.stdout).toContain(`${policy}:7: UNSAFE: rule "beside-policy" of a writes to ${lintDir}, which is ${lintDir}, the policy`);
      expect(r.stdout).not.toContain('read-only-is-fine" of a writes');
      expect(r.stdout).toMatch(/^\d+ UNSAFE finding\(s\): 1 identities/m);
    } finally {
      rmSync(lintDir, { recursive: true, force: true });
    }
  });

  it('reads sshd settings: PermitUserEnvironment and AcceptEnv', () => {
    const lintDir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-sshd-'));
    try {
      const policy = join(lintDir, 'p.yaml');
      writeFileSync(
        policy,
        'version: 1\nidentities:\n  a:\n    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]\n    rules: []\n',
        { mode: 0o600 },
      );
      spawnSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(lintDir, 'hostkey')]);
      writeFileSync(
        join(lintDir, 'sshd_config'),
        `HostKey ${join(lintDir, 'hostkey')}\nPermitUserEnvironment yes\nExposeAuthInfo no\nAcceptEnv LANG LC_* NODE_OPTIONS\n`,
      );
      const r = runBundle(['check', '--policy', policy, '--sshd-config', join(lintDir, 'sshd_config')]);
      expect(r.stdout).toContain(
        "sshd: UNSAFE: PermitUserEnvironment yes: a key's environment= or ~/.ssh/environment can set NODE_OPTIONS",
      );
      expect(r.stdout).toContain('sshd: warning: ExposeAuthInfo is not yes');
      expect(r.stdout).toContain('sshd: warning: AcceptEnv NODE_OPTIONS');
      expect(r.stdout).toMatch(/^1 UNSAFE finding\(s\): .*; 2 warning\(s\)$/m);
      expect(r.code).toBe(1);
    } finally {
      rmSync(lintDir, { recursive: true, force: true });
    }
  });
});

describe('check, what lies outside the policy', () => {
  it('warns about an rsync without --confine-root and --drop-D, and not about the installed 3.5', () => {
    const lintDir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-rsync-version-'));
    try {
      const old = join(lintDir, 'rsync-3.2.7');
      writeFileSync(old, '#!/bin/sh\necho "rsync  version 3.2.7  protocol version 31"\necho " --munge-links  munge symlinks"\n', {
        mode: 0o755,
      });
      const policy = join(lintDir, 'p.yaml');
      mkdirSync(join(lintDir, 'b'));
      writeFileSync(
        policy,
        `version: 1\nidentities:\n  a:\n    rules:\n      - { name: old, rsync: { root: ${lintDir}/b, access: read, program: ${old} } }\n      - { name: new, rsync: { root: ${lintDir}/b, access: read } }\n`,
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.stdout).toContain(`${policy}:5: warning: rule "old": ${old} (rsync 3.2.7) lacks --confine-root and --drop-D`);
      expect(r.stdout).not.toContain('rule "new": /usr/bin/rsync');
      expect(r.code).toBe(0);
    } finally {
      rmSync(lintDir, { recursive: true, force: true });
    }
  });

  it('--authorized-keys: a dispatch line without restrict, and a key with no command=', () => {
    const lintDir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-keys-'));
    try {
      const policy = join(lintDir, 'p.yaml');
      writeFileSync(policy, 'version: 1\nidentities:\n  a:\n    rules: []\n', { mode: 0o600 });
      const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1aH2xXcAt0iZtZ6dWxJZ4pSY3sJ2C1Ar5TQfk4PDbT k';
      writeFileSync(join(lintDir, 'authorized_keys'), `command="/usr/local/bin/ssh-dispatch --id a" ${key}\n${key}\n`);
      const r = runBundle(['check', '--policy', policy, '--authorized-keys', join(lintDir, 'authorized_keys')]);
      expect(r.stdout).toContain(`${lintDir}/authorized_keys:1: UNSAFE: besides running ssh-dispatch, the key can open tunnels`);
      expect(r.stdout).toContain(`${lintDir}/authorized_keys:2: warning: a key with no command=`);
      expect(r.code).toBe(1);
    } finally {
      rmSync(lintDir, { recursive: true, force: true });
    }
  });
});

describe('check: findings and the verdict', () => {
  const withPolicy = (body: (dir: string, policy: string) => void) => {
    const lintDir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-verdict-'));
    try {
      body(lintDir, join(lintDir, 'p.yaml'));
    } finally {
      rmSync(lintDir, { recursive: true, force: true });
    }
  };

  it('warnings alone: exit 0, and the summary does not say ok; with --strict: exit 1', () => {
    withPolicy((lintDir, policy) => {
      writeFileSync(
        policy,
        'version: 1\nidentities:\n  a:\n    rules:\n      - { name: x, exec: { command: "du -sh *", program: /usr/bin/du } }\n',
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`${policy}:5: warning: rule "x" has the word "*"`);
      expect(r.stdout).toMatch(/^1 warning\(s\): 1 identities/m);
      expect(r.stdout).not.toMatch(/\bok\b/);
      const strict = runBundle(['check', '--strict', '--policy', policy]);
      expect(strict.code).toBe(1);
      expect(strict.stdout).toMatch(/^1 warning\(s\) \(--strict: failing\): /m);
    });
  });

  it('a shell with a glob as its first word (ran `id` as root): UNSAFE, exit 1', () => {
    withPolicy((lintDir, policy) => {
      writeFileSync(
        policy,
        'version: 1\nidentities:\n  a:\n    rules:\n      - { name: hello, exec: { command: "*", program: /bin/sh } }\n',
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.stdout).toContain(
        `${policy}:5: UNSAFE: rule "hello" runs /bin/sh (a shell, for which words are a program) with the glob word "*" (word 1)`,
      );
      expect(r.code).toBe(1);
    });
  });

  it('a write rule through a symlink to a home, and into /etc/cron.d: UNSAFE, exit 1', () => {
    withPolicy((lintDir, policy) => {
      symlinkSync('/root', join(lintDir, 'innocent'));
      writeFileSync(
        policy,
        `version: 1\nidentities:\n  a:\n    rules:\n      - { name: link, rsync: { root: ${lintDir}/innocent, access: write } }\n      - { name: cron, receive: { dir: /etc/cron.d, name: x } }\n`,
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.stdout).toContain(
        `${policy}:5: UNSAFE: rule "link" of a writes to ${lintDir}/innocent (resolved: /root), which is /root, the home of root (uid 0)`,
      );
      expect(r.stdout).toContain(
        `${policy}:6: UNSAFE: rule "cron" of a writes to /etc/cron.d, which is /etc/cron.d, cron jobs, run as root`,
      );
      expect(r.code).toBe(1);
    });
  });

  it("a write rule on the audit log's filesystem: a warning (a client filling it would deny everyone); a read rule there: none", () => {
    withPolicy((lintDir, policy) => {
      mkdirSync(join(lintDir, 'log'), { mode: 0o700 });
      mkdirSync(join(lintDir, 'in'), { mode: 0o755 });
      mkdirSync(join(lintDir, 'out'), { mode: 0o755 });
      writeFileSync(
        policy,
        `version: 1\naudit: { file: ${lintDir}/log/audit.jsonl }\nidentities:\n  a:\n    rules:\n      - { name: in, rsync: { root: ${lintDir}/in, access: write } }\n      - { name: out, rsync: { root: ${lintDir}/out, access: read } }\n`,
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.stdout).toContain(
        `${policy}:6: warning: rule "in": ${lintDir}/in is on the same filesystem as the audit log (${lintDir}/log)`,
      );
      expect(r.stdout).not.toContain('rule "out": ');
    });
  });

  it('a rule directory a group can write, or another account owns: a warning naming why', () => {
    withPolicy((lintDir, policy) => {
      mkdirSync(join(lintDir, 'g'), { mode: 0o700 });
      chmodSync(join(lintDir, 'g'), 0o770);
      mkdirSync(join(lintDir, 'o'), { mode: 0o700 });
      const asRoot = process.getuid?.() === 0;
      if (asRoot) chownSync(join(lintDir, 'o'), 65534, 65534);
      writeFileSync(
        policy,
        `version: 1\nidentities:\n  a:\n    rules:\n      - { name: g, rsync: { root: ${lintDir}/g, access: read } }\n      - { name: o, rsync: { root: ${lintDir}/o, access: read } }\n`,
        { mode: 0o600 },
      );
      const r = runBundle(['check', '--policy', policy]);
      expect(r.stdout).toContain(`${policy}:5: warning: rule "g": ${lintDir}/g is writable by group or others (mode 0770)`);
      if (asRoot)
        expect(r.stdout).toContain(`${policy}:6: warning: rule "o": ${lintDir}/o is owned by uid 65534, not by root or the running user`);
    });
  });
});

describe('--help', () => {
  it.each([['run'], ['explain'], ['check'], ['demo'], ['authorized-key'], ['suggest'], []])(
    'ssh-dispatch %s --help exits 0 and says how to use it',
    (...sub) => {
      const r = runBundle([...sub.filter(Boolean), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: ssh-dispatch/);
    },
  );
});

describe('check has no side effect; keys serve what apply served (issue 27)', () => {
  it('check writes nothing; a key line with --approved (from before apply) serves the applied version like any other', () => {
    const policyDir = join(dir, 'approved');
    mkdirSync(policyDir, { mode: 0o700 });
    const log = join(dir, 'approved-log', 'audit.jsonl');
    mkdirSync(join(dir, 'approved-log'), { mode: 0o700 });
    const write = (command: string) =>
      writeFileSync(
        join(policyDir, 'main.yaml'),
        `version: 1\naudit: { file: ${log} }\nidentities:\n  t:\n    rules:\n      - { name: r, exec: { command: "${command}", program: /bin/true } }\n`,
        { mode: 0o600 },
      );
    const connect = (command: string, approved: boolean) =>
      runBundle(['--id', 't', '--policy', policyDir, ...(approved ? ['--approved'] : [])], {
        SSH_ORIGINAL_COMMAND: command,
        SSH_CONNECTION: '127.0.0.1 1 127.0.0.1 22',
      }).code;
    write('true one');
    const checked = spawnSync(NODE, [BUNDLE, 'check', '--policy', policyDir], { encoding: 'utf8' });
    expect(checked.status).toBe(0);
    // The control of "no side effect": check before issue 27 approved and compiled the policy here.
    expect(readdirSync(policyDir)).toEqual(['main.yaml']);
    expect(connect('true one', true)).toBe(126); // nothing applied yet
    expect(JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!)).toMatchObject({
      decision: 'deny',
      reason: 'policy-not-applied',
    });
    expect(spawnSync(NODE, [BUNDLE, 'apply', '--policy', policyDir], { encoding: 'utf8' }).status).toBe(0);
    expect(connect('true one', true)).toBe(0);
    expect(connect('true one', false)).toBe(0);
    write('true two');
    for (const approved of [true, false]) {
      expect(connect('true two', approved)).toBe(126);
      expect(connect('true one', approved)).toBe(0);
    }
  });
});
