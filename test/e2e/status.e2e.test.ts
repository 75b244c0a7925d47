/**
 * `ssh-dispatch status` as a monitoring system runs it (issue 18): the built bundle, one line on
 * stdout and the plugin exit code whatever happens; UNKNOWN for a wrong command line and for a
 * log it cannot read (the usual case when the agent runs as its own user); rotated logs read as
 * far back as the window needs; expect-every rules against their own period; expired
 * identities skipped.
 *
 * The owner sees every failure (the issue "status is fed by the thief"): against logs made by
 * real sessions through a real sshd, a failed run stays a WARNING after a stolen key's tiny push
 * succeeds; forged lines for root's identity in an account's own log are not counted and `logs`
 * marks them foreign; a burst of sessions and a success under min-bytes are WARNINGs.
 */
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { applyPolicy, startLab, type Lab } from './lab.js';
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
    expect([r.code, r.line]).toEqual([
      3,
      `SSH-DISPATCH UNKNOWN - no audit log at ${join(dir, 'nowhere', 'audit.jsonl')} (--log, or the policy's audit.file)`,
    ]);
  });

  it('a log that is a directory', () => {
    const r = plugin(status(['--log', dir]));
    expect([r.code, r.line]).toEqual([3, `SSH-DISPATCH UNKNOWN - cannot read ${dir}: not a file`]);
  });

  it('a log the agent may not read (run as nobody): the file, then its directory', () => {
    const log = logDir('private', { 'audit.jsonl': { text: success('fresh', 'nightly', 1), hours: 1 } });
    chmodSync(log, 0o600);
    const asNobody = (args: string[]) =>
      plugin(
        runBundle(
          ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'status', '--policy', policy, ...args],
          {},
          undefined,
          '/usr/bin/setpriv',
        ),
      );
    const file = asNobody(['--log', log, '--id', 'fresh']);
    expect(file.code).toBe(3);
    expect(file.line).toBe(
      `SSH-DISPATCH UNKNOWN - cannot read ${log}: permission denied (EACCES): run the check as a user that may read the audit log`,
    );
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
    expect([none.code, none.line]).toEqual([
      3,
      'SSH-DISPATCH UNKNOWN - nothing to check: no rule chosen has expect-every (set it in the policy, or give --stale)',
    ]);
    const expired = plugin(status(['--log', log, '--id', 'gone']));
    expect(expired.code).toBe(3);
    expect(expired.line).toContain('expired, not checked: gone (after 2020-01-01)');
    expect(plugin(status(['--log', log, '--id', 'nobody-such'])).line).toBe(
      'SSH-DISPATCH UNKNOWN - no identity "nobody-such" in the policy',
    );
  });
});

describe('expect-every: each rule against its own period', () => {
  let log: string;
  beforeAll(() => {
    log = logDir('periods', {
      'audit.jsonl': {
        text:
          success('fresh', 'nightly', 2) +
          success('late', 'nightly', 30) +
          success('lost', 'nightly', 60) +
          success('weekly', 'offsite', 24 * 7),
        hours: 0,
      },
    });
  });

  it.each([
    [
      'fresh',
      0,
      /^SSH-DISPATCH OK - the rule succeeded in time; oldest success fresh\/nightly 2h ago \| 'ok'=1;;;0;1 'warning'=0;;;0;1 'critical'=0;;;0;1 'fresh\/nightly'=7[0-9]{3}s;93600;187200;0 'fresh\/nightly failed'=0;0;;0 'fresh\/nightly sessions'=1;10;;0$/,
    ],
    [
      'late',
      1,
      /^SSH-DISPATCH WARNING - late\/nightly last success 1d6h ago \(expected every 1d2h\); 0 of 1 rule OK \| .*'late\/nightly'=10[0-9]{4}s;93600;187200;0 'late\/nightly failed'=0;0;;0 'late\/nightly sessions'=0;10;;0$/,
    ],
    ['lost', 2, /^SSH-DISPATCH CRITICAL - lost\/nightly last success 2d12h ago \(critical past 2d4h\); 0 of 1 rule OK \| /],
    [
      'weekly',
      0,
      /^SSH-DISPATCH OK - the rule succeeded in time; oldest success weekly\/offsite 7d ago \| .*'weekly\/offsite'=[0-9]+s;691200;1382400;0 'weekly\/offsite failed'=0;0;;0 'weekly\/offsite sessions'=1;10;;0$/,
    ],
  ])('--id %s: exit %d', (id, code, line) => {
    const r = plugin(status(['--log', log, '--id', id]));
    expect(r.code).toBe(code);
    expect(r.line).toMatch(line);
  });

  it('without flags: exactly the expect-every rules (not restore), the expired identity skipped, the worst state wins', () => {
    const r = plugin(status(['--log', log]));
    expect(r.code).toBe(2);
    expect(r.line).toMatch(
      /^SSH-DISPATCH CRITICAL - lost\/nightly last success 2d12h ago \(critical past 2d4h\); WARNING: late\/nightly last success 1d6h ago \(expected every 1d2h\); 2 of 4 rules OK \| 'ok'=2;;;0;4 'warning'=1;;;0;4 'critical'=1;;;0;4 /,
    );
    expect(r.line).not.toContain('restore');
    expect(r.line).not.toContain('gone');
  });

  it('--stale keeps its meaning: every rule chosen, expect-every or not, against the span given', () => {
    const r = plugin(status(['--log', log, '--stale', '90m', '--id', 'fresh']));
    expect(r.code).toBe(2);
    expect(r.line).toMatch(
      /^SSH-DISPATCH CRITICAL - fresh\/restore no success logged since [0-9-]{10} [0-9:]{5}; WARNING: fresh\/nightly last success 2h ago \(expected every 1h30m\); 0 of 2 rules OK \| .*'fresh\/nightly'=[0-9]+s;5400;10800;0 'fresh\/nightly failed'=0;0;;0 'fresh\/nightly sessions'=0;10;;0 'fresh\/restore'=U;5400;10800;0 'fresh\/restore failed'=0;0;;0 'fresh\/restore sessions'=0;10;;0$/,
    );
    expect(plugin(status(['--log', log, '--stale', '3h', '--rule', 'nightly', '--id', 'fresh'])).code).toBe(0);
    expect(plugin(status(['--log', log, '--stale', '26h', '--critical', '100h', '--rule', 'nightly'])).line).toMatch(
      /^SSH-DISPATCH WARNING - late\/nightly .*; lost\/nightly .*; 1 of 3 rules OK/,
    );
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
    expect(r.line).toMatch(/^SSH-DISPATCH WARNING - late\/nightly last success 1d16h ago \(expected every 1d2h\); 1 of 2 rules OK/);
    // weekly/offsite's window is 16 days: .3.gz is read for it.
    expect(plugin(status(['--log', log, '--id', 'weekly'])).line).toMatch(
      /^SSH-DISPATCH OK - the rule succeeded in time; oldest success weekly\/offsite 7d12h ago/,
    );
    // A nightly's window (52h) does not reach .3.gz: a success only there is not looked for.
    const nightlyOnly = plugin(status(['--log', log, '--id', 'weekly', '--stale', '26h']));
    expect(nightlyOnly.code).toBe(2);
    expect(nightlyOnly.line).toMatch(/weekly\/offsite no success logged since /);
    // --rotated reads them all.
    expect(plugin(status(['--log', log, '--id', 'weekly', '--stale', '26h', '--rotated'])).line).toMatch(
      /weekly\/offsite last success 7d12h ago \(critical past 2d4h\)/,
    );
  });

  it('the log itself missing beside rotated files (logrotate without create, no connection since) reads as empty', () => {
    const log = logDir('nocreate', { 'audit.jsonl.1': { text: success('fresh', 'nightly', 3), hours: 3 } });
    expect(plugin(status(['--log', log, '--id', 'fresh'])).code).toBe(0);
  });
});

describe('the owner sees every failure: logs made by real sessions through a real sshd', () => {
  let lab: Lab;
  const keys: Record<string, ClientKey> = {};
  const IDS = ['theft', 'night', 'flood', 'small', 'forged'] as const;
  /** One receive rule per identity, each into a directory of its own; uploads over 64 KiB fail (too-large). */
  const rule = (id: string, extra = '') =>
    `  ${id}:\n    accounts: [root]\n    rules:\n      - { name: tarball, expect-every: 26h${extra}, receive: { dir: {{DIR}}/store-${id}, name: "backup-{timestamp}.tar", max-bytes: 64KiB, min-free: "0" } }\n`;
  const upload = async (id: string, bytes: number) => lab.sshd.ssh(keys[id]!, 'receive', { input: Buffer.alloc(bytes, 0x61) });
  const labStatus = (args: string[]) => plugin(runBundle(['status', '--policy', lab.policyDir, ...args]));
  const endsOf = (id: string) => lab.records().filter((r) => r.event === 'end' && r.id === id);

  beforeAll(async () => {
    lab = await startLab();
    for (const id of IDS) mkdirSync(join(lab.sshd.dir, `store-${id}`), { mode: 0o700 });
    lab.writePolicy(
      `version: 1\naudit: { file: {{AUDIT}} }\nidentities:\n${rule('theft')}${rule('night', ', min-bytes: 1KiB')}${rule('flood')}${rule('small', ', min-bytes: 1KiB')}${rule('forged')}`,
    );
    for (const id of IDS) keys[id] = await lab.sshd.newClientKey(id);
    lab.sshd.authorize(IDS.map((id) => lab.dispatchLine(keys[id]!, id)));
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('a normal night: one upload above min-bytes is OK', async () => {
    expect((await upload('night', 4096)).code).toBe(0);
    const r = labStatus(['--id', 'night']);
    expect([r.code, r.line]).toEqual([
      0,
      expect.stringMatching(
        /^SSH-DISPATCH OK - the rule succeeded in time; oldest success night\/tarball [0-9]+s ago \| .*'night\/tarball failed'=0;0;;0 'night\/tarball sessions'=1;10;;0 'night\/tarball smallest'=4096B;1024:;;0$/,
      ),
    ]);
  });

  it('the owner’s push fails, then a thief’s tiny push succeeds: WARNING, not OK', async () => {
    const owner = await upload('theft', 100 * 1024);
    expect(owner.code).not.toBe(0);
    expect((await upload('theft', 2048)).code).toBe(0);
    const [failure, thief] = endsOf('theft');
    expect(failure).toMatchObject({ outcome: 'too-large' });
    expect(failure!.exit).not.toBe(0);
    expect(thief).toMatchObject({ outcome: 'stored', exit: 0, bytes: 2048 });
    // Control: what "the last success" alone says. The thief's success is newer than the failure
    // and seconds old, well inside the period: read that way, the rule is OK.
    expect(Date.parse(String(thief!.ts))).toBeGreaterThan(Date.parse(String(failure!.ts)));
    const r = labStatus(['--id', 'theft']);
    expect(r.line).toMatch(/'theft\/tarball'=[0-9]{1,3}s;93600;187200;0 'theft\/tarball failed'=1;0;;0 'theft\/tarball sessions'=2;10;;0$/);
    expect([r.code, r.line.split(' | ')[0]]).toEqual([
      1,
      expect.stringMatching(
        /^SSH-DISPATCH WARNING - theft\/tarball a run failed within 1d2h, the last [0-9]+s ago \(exit [1-9][0-9]* too-large\), though a later run succeeded; 0 of 1 rule OK$/,
      ),
    ]);
    // summary shows the failure beside the success.
    const summary = JSON.parse(runBundle(['summary', '--policy', lab.policyDir, '--json']).stdout) as { rules: Record<string, unknown>[] };
    expect(summary.rules.find((x) => x.id === 'theft')).toMatchObject({
      failed: 1,
      lastSuccess: thief!.ts,
      lastFailure: failure!.ts,
      lastFailureHow: expect.stringMatching(/^exit [1-9][0-9]* too-large$/),
    });
  });

  it('a success below min-bytes is a WARNING; the same rule’s night above it was OK', async () => {
    expect((await upload('small', 100)).code).toBe(0);
    expect(endsOf('small')[0]).toMatchObject({ outcome: 'stored', bytes: 100 });
    const r = labStatus(['--id', 'small']);
    expect([r.code, r.line.split(' | ')[0]]).toEqual([
      1,
      expect.stringMatching(
        /^SSH-DISPATCH WARNING - small\/tarball a success [0-9]+s ago wrote 100 bytes \(min-bytes 1024\); 0 of 1 rule OK$/,
      ),
    ]);
    expect(r.line).toMatch(/'small\/tarball smallest'=100B;1024:;;0$/);
  });

  it('a burst: more sessions in the period than --burst is a WARNING; as many is not', async () => {
    for (let i = 0; i < 3; i++) expect((await upload('flood', 2048)).code).toBe(0);
    // Control: at the threshold, OK.
    expect(labStatus(['--id', 'flood', '--burst', '3']).code).toBe(0);
    expect((await upload('flood', 2048)).code).toBe(0);
    const r = labStatus(['--id', 'flood', '--burst', '3']);
    expect([r.code, r.line.split(' | ')[0]]).toEqual([
      1,
      'SSH-DISPATCH WARNING - flood/tarball 4 sessions within 1d2h (a burst: more than 3); 0 of 1 rule OK',
    ]);
    expect(labStatus(['--id', 'flood', '--burst', '0']).code).toBe(3);
  });

  it('forged lines for root’s identity in an account’s own log: not counted, and logs marks them foreign', async () => {
    // Root's job has gone quiet (the host died): CRITICAL, while another job goes on.
    expect((await upload('night', 4096)).code).toBe(0);
    expect(labStatus(['--id', 'forged']).code).toBe(2);
    // What the account (it may append anything to its own log) writes: a real success's decision
    // and end, re-addressed to root's identity, as a session of root would have them.
    const real = lab.records().filter((r) => r.session === endsOf('night').at(-1)!.session);
    expect(real.map((r) => r.event)).toEqual(['decision', 'end']);
    const forged = real.map((r) =>
      JSON.stringify({
        ...r,
        ts: new Date().toISOString(),
        id: 'forged',
        session: 'f0f0f0f0f0f0f0f0',
        user: r.event === 'decision' ? 'root' : undefined,
      }),
    );
    const accountLog = join(lab.sshd.dir, 'log', 'audit.backup.jsonl');
    appendFileSync(accountLog, `${forged.join('\n')}\n`);
    // Control: the lines are there, and trusted (in a copy of root's log) they would make it OK.
    expect(readFileSync(accountLog, 'utf8')).toContain('"id":"forged"');
    const trusting = join(lab.sshd.dir, 'trusting');
    mkdirSync(trusting);
    copyFileSync(lab.auditFile, join(trusting, 'audit.jsonl'));
    appendFileSync(join(trusting, 'audit.jsonl'), readFileSync(accountLog));
    expect(labStatus(['--id', 'forged', '--log', join(trusting, 'audit.jsonl')]).code).toBe(0);
    // The same log named with --log is still the account's: not trusted as root's.
    expect(labStatus(['--id', 'forged', '--log', accountLog]).code).toBe(2);
    // As the check runs: still CRITICAL, and it says what it did not count.
    const r = labStatus(['--id', 'forged']);
    expect([r.code, r.line.split(' | ')[0]]).toEqual([
      2,
      expect.stringMatching(
        /^SSH-DISPATCH CRITICAL - forged\/tarball no success logged since .*, 2 foreign records in account logs not counted \(ssh-dispatch logs --rule tarball marks them\); 0 of 1 rule OK$/,
      ),
    ]);
    // logs shows them, marked, in the table and in --json; summary does not count them.
    const table = runBundle(['logs', '--policy', lab.policyDir, '--id', 'forged']).stdout.trim().split('\n').slice(1);
    expect(table.filter((row) => row.includes('[FOREIGN: '))).toHaveLength(2);
    expect(
      table.filter((row) => row.includes("[FOREIGN: in backup's log, identity forged may not log into backup, not counted]")),
    ).toHaveLength(1);
    expect(table).toHaveLength(2);
    const json = runBundle(['logs', '--policy', lab.policyDir, '--id', 'forged', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.filter((x) => x.session === 'f0f0f0f0f0f0f0f0').map((x) => x.foreign)).toEqual([
      expect.stringContaining('may not log into backup'),
      expect.stringContaining('no decision of this session that counts'),
    ]);
    expect(json.filter((x) => x.session !== 'f0f0f0f0f0f0f0f0').every((x) => x.foreign === undefined)).toBe(true);
    const summary = JSON.parse(runBundle(['summary', '--policy', lab.policyDir, '--json']).stdout) as {
      rules: Record<string, unknown>[];
      foreign: number;
    };
    expect(summary.rules.find((x) => x.id === 'forged')).toBeUndefined();
    expect(summary.foreign).toBe(2);
  });

  it('an account’s log the agent may not read is UNKNOWN, not a rule without success', () => {
    const accountLog = join(lab.sshd.dir, 'log', 'audit.backup.jsonl');
    for (const path of [lab.sshd.dir, lab.policyDir, join(lab.sshd.dir, 'log')]) chmodSync(path, 0o755);
    chmodSync(join(lab.policyDir, 'main.yaml'), 0o644);
    // Who may read what is served follows the files at apply: the agent reads the served version.
    applyPolicy(lab.policyDir);
    chmodSync(lab.auditFile, 0o644);
    const asNobody = () =>
      plugin(
        runBundle(
          [
            '--reuid',
            String(NOBODY),
            '--regid',
            String(NOBODY),
            '--clear-groups',
            '--',
            'status',
            '--policy',
            lab.policyDir,
            '--id',
            'night',
          ],
          {},
          undefined,
          '/usr/bin/setpriv',
        ),
      );
    try {
      chmodSync(accountLog, 0o600);
      const r = asNobody();
      expect([r.code, r.line]).toEqual([
        3,
        `SSH-DISPATCH UNKNOWN - cannot read ${accountLog}: permission denied (EACCES): run the check as a user that may read the audit log`,
      ]);
      // Control: readable, the same check reads it and answers.
      chmodSync(accountLog, 0o644);
      expect(asNobody().code).toBe(0);
    } finally {
      for (const path of [lab.sshd.dir, lab.policyDir, join(lab.sshd.dir, 'log')]) chmodSync(path, 0o700);
    }
  });
});
