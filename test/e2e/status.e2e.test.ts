/**
 * `ssh-dispatch status` as a monitoring system runs it (issue 18): the built bundle, one line on
 * stdout and the plugin exit code whatever happens; UNKNOWN for a wrong command line and for a
 * log it cannot read (the usual case when the agent runs as its own user); rotated logs read as
 * far back as the window needs; expect-every rules against their own period; expired
 * identities skipped.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBundle, type BundleResult } from './run-bundle.js';

const NOBODY = 65534;
const HOUR = 3_600_000;
let dir: string;
let policy: string;

/** A success of (id, rule) `hours` ago: an end record with exit 0, as run.ts writes it. */
function success(id: string, rule: string, hours: number, session = `${id}-${rule}-${hours}`): string {
  const ts = new Date(Date.now() - hours * HOUR).toISOString();
  return `${JSON.stringify({ ts, event: 'decision', session, id, rule, decision: 'allow', client: '192.0.2.10:40000', command: 'x', handoff: 'spawn' })}\n${JSON.stringify({ ts, event: 'end', session, id, rule, exit: 0, outcome: 'exited', duration_ms: 5 })}\n`;
}

/** A log directory of its own, with files written and their mtimes set `hours` ago. */
function logDir(name: string, files: Record<string, { text: string; hours: number; gzip?: boolean }>): string {
  const logs = join(dir, name);
  mkdirSync(logs, { recursive: true });
  for (const [file, { text, hours, gzip }] of Object.entries(files)) {
    writeFileSync(join(logs, file), gzip ? gzipSync(text) : text);
    const when = new Date(Date.now() - hours * HOUR);
    utimesSync(join(logs, file), when, when);
  }
  return join(logs, 'audit.jsonl');
}

function status(args: string[]): BundleResult {
  return runBundle(['status', '--policy', policy, ...args]);
}

/** Every answer of a plugin: exactly one line on stdout, and an exit code 0 to 3. */
function plugin(r: BundleResult): { code: number | null; line: string } {
  expect(r.stdout.endsWith('\n')).toBe(true);
  expect(r.stdout.slice(0, -1).split('\n')).toHaveLength(1);
  expect([0, 1, 2, 3]).toContain(r.code);
  return { code: r.code, line: r.stdout.slice(0, -1) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-status-'));
  chmodSync(dir, 0o755);
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
identities:
  fresh:
    rules:
      - { name: nightly, expect-every: 26h, exec: { command: /bin/true } }
      - { name: restore, exec: { command: /bin/false } }
  late:
    rules:
      - { name: nightly, expect-every: 26h, exec: { command: /bin/true } }
  lost:
    rules:
      - { name: nightly, expect-every: 26h, exec: { command: /bin/true } }
  weekly:
    rules:
      - { name: offsite, expect-every: 8d, exec: { command: /bin/true } }
  gone:
    expires: 2020-01-01
    rules:
      - { name: nightly, expect-every: 26h, exec: { command: /bin/true } }
`,
    { mode: 0o644 },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('UNKNOWN, with the reason on the one line', () => {
  it.each([
    ['a span that is none', ['--stale', 'bogus']],
    ['an unknown flag', ['--bogus']],
    ['a flag without its value', ['--stale']],
    ['--critical without --stale', ['--critical', '52h']],
    ['--critical shorter than --stale', ['--stale', '26h', '--critical', '1h']],
    ['a positional argument', ['host1']],
  ])('a usage error: %s', (_case, args) => {
    const r = plugin(status(['--log', '/nonexistent/audit.jsonl', ...args]));
    expect(r.code).toBe(3);
    expect(r.line).toMatch(/^SSH-DISPATCH UNKNOWN - usage: .*\(ssh-dispatch status --help\)$/);
  });

  it('a missing log', () => {
    const r = plugin(status(['--log', join(dir, 'nowhere', 'audit.jsonl')]));
    expect([r.code, r.line]).toEqual([3, `SSH-DISPATCH UNKNOWN - no audit log at ${join(dir, 'nowhere', 'audit.jsonl')} (--log, or the policy's audit.file)`]);
  });

  it('a log that is a directory', () => {
    const r = plugin(status(['--log', dir]));
    expect([r.code, r.line]).toEqual([3, `SSH-DISPATCH UNKNOWN - cannot read ${dir}: not a file`]);
  });

  it('a log the agent may not read (run as nobody): the file, then its directory', () => {
    const log = logDir('private', { 'audit.jsonl': { text: success('fresh', 'nightly', 1), hours: 1 } });
    chmodSync(log, 0o600);
    const asNobody = (args: string[]) => plugin(runBundle(['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'status', '--policy', policy, ...args], {}, undefined, '/usr/bin/setpriv'));
    const file = asNobody(['--log', log, '--id', 'fresh']);
    expect(file.code).toBe(3);
    expect(file.line).toBe(`SSH-DISPATCH UNKNOWN - cannot read ${log}: permission denied (EACCES): run the check as a user that may read the audit log`);
    // As install.sh makes it: the directory 0750, root's.
    chmodSync(log, 0o644);
    chmodSync(join(dir, 'private'), 0o750);
    const directory = asNobody(['--log', log, '--id', 'fresh']);
    expect(directory.code).toBe(3);
    expect(directory.line).toMatch(/^SSH-DISPATCH UNKNOWN - cannot read .*: permission denied \(EACCES\)/);
    // Readable, the same check is OK: it was the permissions.
    chmodSync(join(dir, 'private'), 0o755);
    expect(asNobody(['--log', log, '--id', 'fresh']).code).toBe(0);
  });

  it('nothing to check: no expect-every among the rules chosen, or only an expired identity', () => {
    const log = logDir('empty', { 'audit.jsonl': { text: '', hours: 0 } });
    const none = plugin(status(['--log', log, '--rule', 'restore']));
    expect([none.code, none.line]).toEqual([3, 'SSH-DISPATCH UNKNOWN - nothing to check: no rule chosen has expect-every (set it in the policy, or give --stale)']);
    const expired = plugin(status(['--log', log, '--id', 'gone']));
    expect(expired.code).toBe(3);
    expect(expired.line).toContain('expired, not checked: gone (after 2020-01-01)');
    expect(plugin(status(['--log', log, '--id', 'nobody-such'])).line).toBe('SSH-DISPATCH UNKNOWN - no identity "nobody-such" in the policy');
  });
});

describe('expect-every: each rule against its own period', () => {
  let log: string;
  beforeAll(() => {
    log = logDir('periods', {
      'audit.jsonl': { text: success('fresh', 'nightly', 2) + success('late', 'nightly', 30) + success('lost', 'nightly', 60) + success('weekly', 'offsite', 24 * 7), hours: 0 },
    });
  });

  it.each([
    ['fresh', 0, /^SSH-DISPATCH OK - the rule succeeded in time; oldest success fresh\/nightly 2h ago \| 'ok'=1;;;0;1 'warning'=0;;;0;1 'critical'=0;;;0;1 'fresh\/nightly'=7[0-9]{3}s;93600;187200;0$/],
    ['late', 1, /^SSH-DISPATCH WARNING - late\/nightly last success 1d6h ago \(expected every 1d2h\); 0 of 1 rule in time \| .*'late\/nightly'=10[0-9]{4}s;93600;187200;0$/],
    ['lost', 2, /^SSH-DISPATCH CRITICAL - lost\/nightly last success 2d12h ago \(critical past 2d4h\); 0 of 1 rule in time \| /],
    ['weekly', 0, /^SSH-DISPATCH OK - the rule succeeded in time; oldest success weekly\/offsite 7d ago \| .*'weekly\/offsite'=[0-9]+s;691200;1382400;0$/],
  ])('--id %s: exit %d', (id, code, line) => {
    const r = plugin(status(['--log', log, '--id', id]));
    expect(r.code).toBe(code);
    expect(r.line).toMatch(line);
  });

  it('without flags: exactly the expect-every rules (not restore), the expired identity skipped, the worst state wins', () => {
    const r = plugin(status(['--log', log]));
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/^SSH-DISPATCH CRITICAL - lost\/nightly last success 2d12h ago \(critical past 2d4h\); WARNING: late\/nightly last success 1d6h ago \(expected every 1d2h\); 2 of 4 rules in time \| 'ok'=2;;;0;4 'warning'=1;;;0;4 'critical'=1;;;0;4 /);
    expect(r.line).not.toContain('restore');
    expect(r.line).not.toContain('gone');
  });

  it('--stale keeps its meaning: every rule chosen, expect-every or not, against the span given', () => {
    const r = plugin(status(['--log', log, '--stale', '90m', '--id', 'fresh']));
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/^SSH-DISPATCH CRITICAL - fresh\/restore no success logged since [0-9-]{10} [0-9:]{5}; WARNING: fresh\/nightly last success 2h ago \(expected every 1h30m\); 0 of 2 rules in time \| .*'fresh\/nightly'=[0-9]+s;5400;10800;0 'fresh\/restore'=U;5400;10800;0$/);
    expect(plugin(status(['--log', log, '--stale', '3h', '--rule', 'nightly', '--id', 'fresh'])).code).toBe(0);
    expect(plugin(status(['--log', log, '--stale', '26h', '--critical', '100h', '--rule', 'nightly'])).line).toMatch(/^SSH-DISPATCH WARNING - late\/nightly .*, lost\/nightly .*; 1 of 3 rules in time/);
  });
});

describe('rotated logs', () => {
  it('right after the weekly rotation: successes in audit.jsonl.1 and .2.gz are found, older files are left unread', () => {
    // As logrotate leaves them with compress and delaycompress: .1 plain, older ones gzip'd;
    // each file's mtime its last write.
    const log = logDir('rotated', {
      'audit.jsonl': { text: '', hours: 0 },
      'audit.jsonl.1': { text: success('fresh', 'nightly', 20), hours: 1 },
      'audit.jsonl.2.gz': { text: success('late', 'nightly', 40) + success('lost', 'nightly', 45), hours: 30, gzip: true },
      'audit.jsonl.3.gz': { text: success('weekly', 'offsite', 24 * 7 + 12), hours: 24 * 7 + 12, gzip: true },
    });
    const r = plugin(status(['--log', log, '--id', 'fresh', '--id', 'late']));
    expect(r.code).toBe(1);
    expect(r.line).toMatch(/^SSH-DISPATCH WARNING - late\/nightly last success 1d16h ago \(expected every 1d2h\); 1 of 2 rules in time/);
    // weekly/offsite's window is 16 days: .3.gz is read for it.
    expect(plugin(status(['--log', log, '--id', 'weekly'])).line).toMatch(/^SSH-DISPATCH OK - the rule succeeded in time; oldest success weekly\/offsite 7d12h ago/);
    // A nightly's window (52h) does not reach .3.gz: a success only there is not looked for.
    const nightlyOnly = plugin(status(['--log', log, '--id', 'weekly', '--stale', '26h']));
    expect(nightlyOnly.code).toBe(2);
    expect(nightlyOnly.line).toMatch(/weekly\/offsite no success logged since /);
    // --rotated reads them all.
    expect(plugin(status(['--log', log, '--id', 'weekly', '--stale', '26h', '--rotated'])).line).toMatch(/weekly\/offsite last success 7d12h ago \(critical past 2d4h\)/);
  });

  it('the log itself missing beside rotated files (logrotate without create, no connection since) reads as empty', () => {
    const log = logDir('nocreate', { 'audit.jsonl.1': { text: success('fresh', 'nightly', 3), hours: 3 } });
    expect(plugin(status(['--log', log, '--id', 'fresh'])).code).toBe(0);
  });
});
