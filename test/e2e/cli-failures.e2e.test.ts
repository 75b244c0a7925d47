/**
 * How the people-facing commands fail (issue 18): a usage error is one line and a hint, exit 2;
 * a closed pipe ends quietly; a log that is not there says so; no arguments is usage, except
 * under sshd, where it stays a denial.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, NODE } from './lab.js';
import { runBundle } from './run-bundle.js';

let dir: string;
let policy: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-cli-failures-'));
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  h1:\n    rules:\n      - { name: du, exec: { command: "/usr/bin/du -sh /srv" } }\n`,
    { mode: 0o600 },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const USAGE_ERROR = /^ssh-dispatch: [^\n]+\nTry: ssh-dispatch --help\n$/;

describe('usage errors', () => {
  it.each([
    ['check', 'FILE'],
    ['check', '--bogus'],
    ['check', '--policy'],
    ['explain', '--bogus'],
    ['authorized-key', '--bogus'],
    // A relative --policy would be read from the account's home: the forced mode refuses it.
    ['authorized-key', '--id', 'h1', '--policy', 'policies', 'KEY.pub'],
    ['authorized-key', '--sshd-config', '--policy', 'policies'],
    ['authorized-keys-command', 'root'],
    ['authorized-principals-command'],
    ['suggest', 'FILE'],
    ['suggest', '--bogus'],
    ['logs', 'FILE'],
    ['logs', '--bogus'],
    ['summary', 'FILE'],
    ['summary', '--bogus'],
    ['demo', 'x'],
    ['--version', 'x'],
    ['--help', 'x'],
    ['bogus'],
  ])('%s %s: exit 2, one line and the hint', (...args) => {
    const r = runBundle(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(USAGE_ERROR);
    expect(r.stdout).toBe('');
  });
});

describe('a relative --policy for a key line', () => {
  it.each([
    [['authorized-key', '--id', 'h1', '--policy', 'policies', 'KEY.pub']],
    [['authorized-key', '--sshd-config', '--policy', 'policies']],
    [['authorized-keys-command', '--policy', 'policies', 'root', 'ssh-ed25519', 'AAAA']],
  ])("%j: refused, since the session would read it from the account's home", (args) => {
    const r = runBundle(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--policy policies: give an absolute path');
  });
  it.each([
    [['authorized-key', '--id', 'h1', '--command', 'ssh-dispatch', 'KEY.pub']],
    [['authorized-keys-command', '--command', 'ssh-dispatch', 'root', 'ssh-ed25519', 'AAAA']],
  ])('%j: a bare --command is refused, since the session would look it up on its PATH', (args) => {
    const r = runBundle(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--command ssh-dispatch: give an absolute path');
  });
});

describe('usage errors of status, a monitoring plugin: UNKNOWN', () => {
  it.each([['FILE'], ['--bogus'], ['--stale', 'bogus']])(
    'status %s: exit 3 and one stdout line, as the plugin conventions say',
    (...args) => {
      const r = runBundle(['status', ...args]);
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^SSH-DISPATCH UNKNOWN - [^\n]+\n$/);
    },
  );
});

describe('-V and no arguments', () => {
  it.each([['-V'], ['--version'], ['version']])('%s prints the version', (flag) => {
    const r = runBundle([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ssh-dispatch \S+ \(build \S+\) on Node\.js v\d+/);
  });

  it('no arguments outside an SSH session: the usage on stderr, exit 2', () => {
    const r = runBundle([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: ssh-dispatch /);
    expect(r.stdout).toBe('');
  });

  it.each([
    ['SSH_CONNECTION', { SSH_CONNECTION: '192.0.2.10 50000 192.0.2.1 22' }],
    ['SSH_ORIGINAL_COMMAND', { SSH_ORIGINAL_COMMAND: 'id' }],
  ])('no arguments with %s set (a command= line without --id): still the denial', (_name, env) => {
    const r = runBundle([], env);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
  });
});

describe('a closed pipe', () => {
  it('logs | head ends quietly with exit 0', () => {
    const log = join(dir, 'big.jsonl');
    const record = (i: number) =>
      JSON.stringify({
        ts: '2026-01-01T00:00:00.000Z',
        event: 'decision',
        session: '0123456789abcdef',
        id: 'h1',
        decision: 'deny',
        reason: 'no-rule-matched',
        command: `x${i}`,
      });
    writeFileSync(log, `${Array.from({ length: 50_000 }, (_, i) => record(i)).join('\n')}\n`);
    const r = spawnSync(
      '/bin/bash',
      [
        '-c',
        'set -o pipefail; "$0" "$1" logs --log "$2" 2>"$3" | head -n 2; echo "status ${PIPESTATUS[*]}"',
        NODE,
        BUNDLE,
        log,
        join(dir, 'stderr'),
      ],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 20_000 },
    );
    expect(r.stdout).toMatch(/^time .*\n2026-01-01 .*x0\nstatus 0 0\n$/);
    expect(spawnSync('cat', [join(dir, 'stderr')], { encoding: 'utf8' }).stdout).toBe('');
  });
});

describe('a log that cannot be read', () => {
  it.each([['logs'], ['summary']])('%s on a missing log: one line naming it, exit 1', (command) => {
    const missing = join(dir, 'nowhere', 'audit.jsonl');
    const r = runBundle([command, '--log', missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `ssh-dispatch: ${missing}: no such file (no connection recorded yet, or another log: --log FILE, --policy PATH)\n`,
    );
  });

  it.each([['logs'], ['summary']])('%s on a log this account may not read: one line naming it, exit 1', (command) => {
    // As root, read as nobody (the test directory is 0700); otherwise a mode-000 file.
    const asRoot = process.getuid?.() === 0;
    const own = join(dir, `unreadable-${command}`);
    mkdirSync(own, { mode: 0o755 });
    const log = join(own, 'audit.jsonl');
    writeFileSync(log, '{}\n', { mode: asRoot ? 0o600 : 0o000 });
    if (!asRoot) chmodSync(log, 0o000);
    const r = asRoot
      ? runBundle(['--reuid=65534', '--regid=65534', '--clear-groups', '--', command, '--log', log], {}, undefined, '/usr/bin/setpriv')
      : runBundle([command, '--log', log]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`ssh-dispatch: ${log}: permission denied (run as root, or as a member of the log's group)\n`);
  });

  it('logs on a directory: not a regular file, exit 1', () => {
    const r = runBundle(['logs', '--log', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ssh-dispatch: ${dir}: not a regular file\n`);
  });
});

describe('the denial line', () => {
  it('names the session, and logs --session finds its record by that prefix', () => {
    const r = runBundle(['--id', 'h1', '--policy', policy], {
      SSH_ORIGINAL_COMMAND: 'rm -rf /',
      SSH_CONNECTION: '192.0.2.10 50000 192.0.2.1 22',
    });
    expect(r.code).toBe(126);
    const prefix = /^ssh-dispatch: refused by the server's policy \(session ([0-9a-f]{8})\); ask its administrator\n$/.exec(r.stderr)?.[1];
    expect(prefix).toBeDefined();
    const found = runBundle(['logs', '--json', '--session', prefix!, '--log', join(dir, 'audit.jsonl')]);
    expect(found.code, found.stderr).toBe(0);
    const records = found.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([expect.objectContaining({ event: 'decision', id: 'h1', decision: 'deny', command: 'rm -rf /' })]);
    expect(String(records[0]!.session).startsWith(prefix!)).toBe(true);
  });
});

describe('explain, for an identity with a from or keys list', () => {
  it.each([
    ['from: [192.0.2.10]', 'from-unknown', 'give the client address with --from IP'],
    ['keys: [SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s]', 'key-unknown', 'give the key with --key SHA256:...'],
  ])('%s and no flag for it: %s, with a hint at the flag', (list, reason, hint) => {
    const own = join(dir, `${reason}.yaml`);
    writeFileSync(
      own,
      `version: 1\nidentities:\n  h1:\n    ${list}\n    rules:\n      - { name: du, exec: { command: "/usr/bin/du -sh /srv" } }\n`,
      { mode: 0o600 },
    );
    const r = runBundle(['explain', '--id', 'h1', '--policy', own, '--', 'du -sh /srv']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`deny   ${reason}:`);
    expect(r.stdout).toContain(`  hint     the identity has a ${reason === 'from-unknown' ? 'from' : 'keys'} list: ${hint}`);
  });
});

describe('check', () => {
  const check = (name: string, yaml: string) => {
    const own = join(dir, name);
    writeFileSync(own, yaml, { mode: 0o600 });
    return { file: own, result: runBundle(['check', '--policy', own]) };
  };

  it('a misspelt key: one error at its line, with "did you mean"', () => {
    const { file, result } = check(
      'misspelt.yaml',
      'version: 1\nidentities:\n  h1:\n    rules:\n      - nam: du\n        exec: { command: "/usr/bin/du -sh /srv" }\n',
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `${file}:5: identities.h1.rules[0].nam: unknown key, did you mean "name"? (expected one of: name, exec, rsync, receive, relay, sftp, expect-every, min-bytes)\n1 error(s): "ssh-dispatch apply" would refuse these files\nserved: nothing; keys refuse every request until "ssh-dispatch apply" serves these files\n`,
    );
  });

  it('a tab in the indentation: one error with file:line', () => {
    const { file, result } = check('tab.yaml', 'version: 1\nidentities:\n  h1:\n    rules:\n\t- name: du\n');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `${file}:5: YAML: a tab in the indentation: YAML indents with spaces only\n1 error(s): "ssh-dispatch apply" would refuse these files\nserved: nothing; keys refuse every request until "ssh-dispatch apply" serves these files\n`,
    );
  });

  it('--authorized-keys reads command= with the forced mode own parser: a --polcy typo is reported', () => {
    const keys = join(dir, 'authorized_keys');
    writeFileSync(
      keys,
      `restrict,command="/usr/local/bin/ssh-dispatch --id h1 --polcy ${policy}" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1b2NhbGhvc3Q test\n`,
    );
    const r = runBundle(['check', '--policy', policy, '--authorized-keys', keys]);
    expect(r.stdout).toContain(
      `${keys}:1: warning: command= would not start ssh-dispatch's forced mode (unexpected argument "--polcy"): every request with this key is denied`,
    );
  });
});
