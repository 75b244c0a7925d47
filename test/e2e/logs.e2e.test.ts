/**
 * Reviewing the log: 200 concurrent dispatches leave 400 whole records; logs filters and reads
 * rotated and gzip'd files; --follow survives logrotate both ways; summary and status report;
 * --path finds the sessions that wrote a path, through a real sshd and OpenSSH's sftp.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { fileClients } from './file-clients.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';
import { waitFor } from './wait.js';

let dir: string;
let policy: string;
let audit: string;

function dispatch(command: string, id = 'host1'): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/setsid', ['--wait', NODE, BUNDLE, '--id', id, '--policy', policy], {
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: command, SSH_CONNECTION: '192.0.2.10 40000 192.0.2.1 22' },
      stdio: 'ignore',
    });
    child.once('close', resolve);
  });
}

const records = () =>
  readFileSync(audit, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-logs-'));
  mkdirSync(join(dir, 'log'));
  audit = join(dir, 'log', 'audit.jsonl');
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
audit: { file: ${audit} }
identities:
  host1:
    rules:
      - { name: nightly, exec: { command: "true", program: /bin/true } }
      - { name: never-run, exec: { command: "false", program: /bin/false } }
  host2:
    rules:
      - { name: ping, exec: { command: "true", program: /bin/true, supervise: false } }
`,
    { mode: 0o600 },
  );
  // Applied (and compiled) once: keys serve only an applied policy.
  expect(runBundle(['apply', '--policy', policy]).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('concurrent sessions', () => {
  it('200 concurrent dispatches leave 400 whole, parseable records', async () => {
    const codes = await Promise.all(Array.from({ length: 200 }, () => dispatch('true')));
    expect(codes.every((c) => c === 0)).toBe(true);
    const all = records();
    expect(all).toHaveLength(400);
    expect(new Set(all.filter((r) => r.event === 'decision').map((r) => r.session)).size).toBe(200);
    expect(all.filter((r) => r.event === 'end' && r.exit === 0)).toHaveLength(200);
  }, 120_000);
});

describe('logs', () => {
  beforeAll(async () => {
    await dispatch('sh -c id');
    await dispatch('true', 'host2');
  });

  it('filters: --decision deny --json', () => {
    const r = runBundle(['logs', '--log', audit, '--decision', 'deny', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ decision: 'deny', reason: 'no-rule-matched', command: 'sh -c id' });
  });

  it('a table with one row per record, filtered by --id', () => {
    const r = runBundle(['logs', '--log', audit, '--id', 'host2']);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^time +session +id +client/);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/host2 +192\.0\.2\.10:40000 +allow +ping +true$/);
  });

  it('--since in the future shows nothing; --session finds one connection', () => {
    expect(runBundle(['logs', '--log', audit, '--since', '2099-01-01', '--json']).stdout).toBe('');
    const session = String(records()[0]!.session).slice(0, 6);
    const r = runBundle(['logs', '--log', audit, '--session', session, '--json']);
    expect(r.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
  });

  it('a JSON line that is no record (an unknown event, a field missing or of the wrong type) is skipped and counted by logs and summary alike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-logs-invalid-'));
    try {
      const log = join(dir, 'audit.jsonl');
      const good = {
        ts: '2026-01-01T00:00:00.000Z',
        event: 'decision',
        session: 'good',
        id: 'h1',
        decision: 'deny',
        reason: 'no-rule-matched',
        command: 'x',
      };
      const { reason: _reason, ...unreasoned } = good;
      const lines = [
        good,
        { ...good, session: 'bad1', event: 'login' },
        { ...good, session: 'bad2', reason: 5 },
        { ...unreasoned, session: 'bad3' },
        { ...good, session: 'bad4', ts: 7 },
      ];
      writeFileSync(log, lines.map((r) => `${JSON.stringify(r)}\n`).join(''));
      const logs = runBundle(['logs', '--log', log, '--json']);
      expect(
        logs.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { session: string }).session),
      ).toEqual(['good']);
      expect(logs.stderr).toContain('4 line(s) were not JSON records and were skipped');
      const summary = runBundle(['summary', '--log', log, '--since', '3650d', '--json']);
      expect((JSON.parse(summary.stdout) as { records: number }).records).toBe(1);
      expect(summary.stderr).toContain('4 line(s) were not JSON records and were skipped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--rotated reads audit.jsonl.2.gz and .1 first; a corrupt line is skipped and counted', () => {
    const old = JSON.stringify({
      ts: '2026-01-01T00:00:00Z',
      event: 'decision',
      session: 'old2',
      id: 'host1',
      decision: 'deny',
      reason: 'no-command',
      command: null,
    });
    writeFileSync(`${audit}.2.gz`, gzipSync(`${old}\n`));
    writeFileSync(`${audit}.1`, `${old.replace('old2', 'old1')}\n{"truncated\n`);
    const r = runBundle(['logs', '--log', audit, '--rotated', '--json']);
    const sessions = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { session: string }).session);
    expect(sessions.slice(0, 2)).toEqual(['old2', 'old1']);
    expect(r.stderr).toContain('1 line(s) were not JSON records and were skipped');
    expect(runBundle(['logs', '--log', audit, '--json']).stdout).not.toContain('old2');
  });

  it('--follow prints what is appended, through rotation by rename and by copytruncate', async () => {
    // In a process group of its own, killed as a group: the launcher runs the core as a child
    // and forwards no signals, so killing the launcher alone would leave the follower running.
    const follower = spawn(NODE, [BUNDLE, 'logs', '--log', audit, '--follow', '--json', '--id', 'host2'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    // 'close' comes once every process holding the stdout pipe (the core too) has let go of it.
    const closed = new Promise((r) => follower.once('close', r));
    let out = '';
    follower.stdout.on('data', (d) => (out += d));
    const lines = () => out.trim().split('\n').filter(Boolean).length;
    const atLeast = (count: number) => waitFor(`${count} followed line(s)`, () => lines() >= count && lines(), { timeoutMs: 10_000 });
    try {
      const before = await atLeast(1);
      await dispatch('true', 'host2');
      expect(await atLeast(before + 1)).toBe(before + 1);
      renameSync(audit, `${audit}.1`);
      await dispatch('true', 'host2');
      expect(await atLeast(before + 2)).toBe(before + 2);
      truncateSync(audit, 0);
      appendFileSync(
        audit,
        `${JSON.stringify({ ts: new Date().toISOString(), event: 'decision', session: 'after-truncate', id: 'host2', decision: 'allow', rule: 'ping' })}\n`,
      );
      expect(await atLeast(before + 3)).toBe(before + 3);
      expect(out).toContain('after-truncate');
    } finally {
      process.kill(-follower.pid!, 'SIGTERM');
      await closed;
    }
  }, 30_000);

  it('--follow follows the accounts’ logs beside root’s, one created after it started too (issue 27)', async () => {
    const own = join(dir, 'follow-accounts');
    mkdirSync(join(own, 'log'), { recursive: true });
    const ownPolicy = join(own, 'policy.yaml');
    writeFileSync(
      ownPolicy,
      `version: 1\naudit: { file: ${join(own, 'log', 'audit.jsonl')} }\nidentities:\n  h:\n    rules:\n      - { name: t, exec: { command: /bin/true } }\n`,
      { mode: 0o600 },
    );
    const line = (session: string) =>
      `${JSON.stringify({ ts: new Date().toISOString(), event: 'decision', session, id: 'h', decision: 'allow', rule: 't' })}\n`;
    writeFileSync(join(own, 'log', 'audit.jsonl'), line('root-before'));
    writeFileSync(join(own, 'log', 'audit.web.jsonl'), line('web-before'));
    const follower = spawn(NODE, [BUNDLE, 'logs', '--policy', ownPolicy, '--follow', '--json'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    const closed = new Promise((r) => follower.once('close', r));
    let out = '';
    follower.stdout.on('data', (d) => (out += d));
    const printed = (session: string) => waitFor(`${session} followed`, () => out.includes(`"${session}"`), { timeoutMs: 10_000 });
    try {
      await printed('web-before');
      appendFileSync(join(own, 'log', 'audit.web.jsonl'), line('web-appended'));
      await printed('web-appended');
      writeFileSync(join(own, 'log', 'audit.backup.jsonl'), line('backup-later'));
      await printed('backup-later');
      appendFileSync(join(own, 'log', 'audit.jsonl'), line('root-appended'));
      await printed('root-appended');
    } finally {
      process.kill(-follower.pid!, 'SIGTERM');
      await closed;
    }
  }, 30_000);
});

describe('summary and status', () => {
  it('summary counts per identity and rule, and lists refusals and new clients', () => {
    const r = runBundle(['summary', '--log', audit, '--rotated', '--since', '30d', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as {
      rules: { id: string; rule: string; allowed: number; lastSuccess: string | null }[];
      refused: { command: string }[];
      newClients: { client: string }[];
    };
    expect(s.rules.find((x) => x.rule === 'nightly')).toMatchObject({ id: 'host1', allowed: 200 });
    expect(s.rules.find((x) => x.rule === 'ping')!.lastSuccess).not.toBeNull();
    expect(s.refused.map((x) => x.command)).toContain('sh -c id');
    expect(s.newClients.map((c) => c.client)).toEqual(['192.0.2.10']);
    expect(runBundle(['summary', '--log', audit]).stdout).toContain('Most frequent refused commands:');
  });

  it('status: OK for rules that succeeded, CRITICAL for one that never did', () => {
    // 200 sessions of nightly within the hour are a burst by default (status --burst).
    const burst = runBundle(['status', '--stale', '1h', '--rotated', '--log', audit, '--policy', policy, '--rule', 'nightly']);
    expect([burst.code, burst.stdout]).toEqual([
      1,
      expect.stringMatching(
        /^SSH-DISPATCH WARNING - host1\/nightly 20[0-9] sessions within 1h \(a burst: more than 10\); 0 of 1 rule OK \| /,
      ),
    ]);
    const ok = runBundle([
      'status',
      '--stale',
      '1h',
      '--burst',
      '1000',
      '--rotated',
      '--log',
      audit,
      '--policy',
      policy,
      '--rule',
      'nightly',
      '--rule',
      'ping',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success .* \| 'ok'=2;;;0;2 'warning'=0;;;0;2 'critical'=0;;;0;2 /,
    );
    const all = runBundle(['status', '--stale', '1h', '--rotated', '--log', audit, '--policy', policy]);
    expect(all.code).toBe(2);
    expect(all.stdout).toMatch(/^SSH-DISPATCH CRITICAL - .*host1\/never-run no success logged since /);
    // Without --stale: the rules with expect-every, and this policy has none (status.e2e.test.ts has the rest).
    expect(runBundle(['status', '--log', audit, '--policy', policy]).code).toBe(3);
  });
});

describe('logs --path: the sessions that wrote a path', () => {
  let lab: Lab;
  let key: ClientKey;
  let local: string;
  const { sftp } = fileClients(
    () => lab.sshd,
    () => local,
  );
  const sessions = (args: string[]) => [
    ...new Set(
      runBundle(['logs', '--policy', lab.policyDir, '--json', ...args])
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => String((JSON.parse(l) as Record<string, unknown>).session)),
    ),
  ];

  beforeAll(async () => {
    lab = await startLab({ extraConfig: ['Subsystem sftp internal-sftp'] });
    local = join(lab.sshd.dir, 'local');
    mkdirSync(local);
    mkdirSync(join(lab.sshd.dir, 'share'), { mode: 0o755 });
    writeFileSync(join(lab.sshd.dir, 'share', 'report.txt'), 'the owner’s\n');
    lab.writePolicy(
      `version: 1\naudit: { file: {{AUDIT}} }\nidentities:\n  rw: { rules: [ { name: exchange, sftp: { root: {{DIR}}/share, access: read-write } } ] }\n`,
    );
    key = await lab.sshd.newClientKey('rw');
    lab.sshd.authorize([lab.dispatchLine(key, 'rw')]);
    writeFileSync(join(local, 'report.txt'), 'planted by a thief\n');
    writeFileSync(join(local, 'other.txt'), 'another file\n');
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('finds the session that overwrote a file among sessions that read it or wrote others, with all its records', () => {
    expect(sftp(key, ['get report.txt got.txt']).code).toBe(0);
    expect(sftp(key, ['put report.txt report.txt']).code).toBe(0);
    expect(sftp(key, ['put other.txt other.txt', 'get report.txt again.txt']).code).toBe(0);
    const all = sessions([]);
    const writer = lab.records().find((r) => r.event === 'file' && r.op === 'write' && r.path === '/report.txt')!.session;
    // Control: the log holds three sessions, and two of them touched report.txt (one read it).
    expect(all).toHaveLength(3);
    expect(
      lab
        .records()
        .filter((r) => r.event === 'file' && String(r.path).endsWith('report.txt'))
        .map((r) => r.op),
    ).toEqual(['read', 'write', 'read']);
    expect(sessions(['--path', '/report.txt'])).toEqual([writer]);
    expect(sessions(['--path', 'report.txt'])).toEqual([writer]);
    const records = runBundle(['logs', '--policy', lab.policyDir, '--path', '/report.txt', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.event)).toEqual(['decision', 'file', 'end']);
    const table = runBundle(['logs', '--policy', lab.policyDir, '--path', '/report.txt']).stdout.trim().split('\n');
    expect(table).toHaveLength(4);
    expect(table[2]).toMatch(/file +exchange +write \/report\.txt, 19 bytes$/);
    expect(sessions(['--path', '/nothing-such.txt'])).toEqual([]);
  });

  it('and the sessions whose end record lists the path in writes (as write sessions report it)', () => {
    const ts = new Date().toISOString();
    const base = { ts, session: 'w1w1w1w1w1w1w1w1', id: 'rw', rule: 'exchange' };
    appendFileSync(
      lab.auditFile,
      `${JSON.stringify({ ...base, event: 'decision', user: 'root', decision: 'allow', command: 'rsync --server . daily.0' })}\n${JSON.stringify({ ...base, event: 'end', exit: 0, outcome: 'exited', duration_ms: 5, writes: { created: ['daily.0/etc/passwd'], replaced: [], removed: [], created_count: 1, replaced_count: 0, removed_count: 0, bytes: 10, sha256: 'x' } })}\n`,
    );
    expect(sessions(['--path', 'daily.0'])).toEqual(['w1w1w1w1w1w1w1w1']);
    expect(sessions(['--path', 'daily.0/etc/passwd', '--id', 'rw'])).toEqual(['w1w1w1w1w1w1w1w1']);
    expect(sessions(['--path', 'daily.01'])).toEqual([]);
    expect(runBundle(['logs', '--policy', lab.policyDir, '--path', 'x', '--follow']).code).toBe(2);
  });

  it('a forged record in an account’s log that reuses a real session’s id brings back itself, marked, not the real session', () => {
    const writer = String(lab.records().find((r) => r.event === 'file' && r.op === 'write' && r.path === '/report.txt')!.session);
    const forged = {
      ts: new Date().toISOString(),
      event: 'end',
      session: writer,
      id: 'rw',
      rule: 'exchange',
      exit: 0,
      outcome: 'exited',
      duration_ms: 5,
      writes: {
        created: ['planted.txt'],
        replaced: [],
        removed: [],
        created_count: 1,
        replaced_count: 0,
        removed_count: 0,
        bytes: 1,
        sha256: 'x',
      },
    };
    appendFileSync(join(lab.sshd.dir, 'log', 'audit.backup.jsonl'), `${JSON.stringify(forged)}\n`);
    const planted = runBundle(['logs', '--policy', lab.policyDir, '--path', 'planted.txt', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(planted).toHaveLength(1);
    expect(planted[0]).toMatchObject({ session: writer, foreign: expect.stringContaining("in backup's log") });
    // The real writer's session, found by its real record, is as it was: three records, none foreign.
    const real = runBundle(['logs', '--policy', lab.policyDir, '--path', '/report.txt', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(real.map((r) => [r.event, r.foreign])).toEqual([
      ['decision', undefined],
      ['file', undefined],
      ['end', undefined],
    ]);
  });
});
