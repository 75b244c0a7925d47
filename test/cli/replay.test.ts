/**
 * `ssh-dispatch replay` in-process: its exit status (0 nothing changes, 1 something does, 2 when
 * there is nothing to decide under or a log cannot be read), the logs it reads (the rotated files
 * the window reaches into, the accounts' logs beside root's, --log alone) and the ones it refuses
 * to leave out.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/args.js';
import { runReplay } from '../../src/cli/replay.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-replay-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function captured(args: string[]) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  vi.spyOn(console, 'log').mockImplementation((...words) => void (stdout += `${words.join(' ')}\n`));
  try {
    return { code: await runReplay(args), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

const HOUR = 3600_000;
/** A decision record `hoursAgo`, allowed by `rule` (or refused with `reason`), as the dispatcher writes it. */
function line(hoursAgo: number, command: string, verdict: { rule: string } | { reason: string }, extra: object = {}): string {
  const ts = new Date(Date.now() - hoursAgo * HOUR).toISOString();
  const decided =
    'rule' in verdict
      ? { decision: 'allow', rule: verdict.rule, rule_at: 'p.yaml:5' }
      : { decision: 'deny', reason: verdict.reason, detail: '' };
  return `${JSON.stringify({ ts, event: 'decision', session: `s${hoursAgo}`, id: 'host1', user: 'root', client: '192.0.2.10:40000', key: null, command, ...decided, ...extra })}\n`;
}

/** A lab of its own: a policy with `rules` for host1 (and backup-job, which may log into backup), its log directory. */
function lab(name: string, rules: string) {
  const root = join(dir, name);
  mkdirSync(join(root, 'log'), { recursive: true });
  const log = join(root, 'log', 'audit.jsonl');
  const policy = join(root, 'policy.yaml');
  const write = (text: string) =>
    writeFileSync(
      policy,
      `version: 1\naudit: { file: ${log} }\nidentities:\n  host1:\n    rules:\n${text}  backup-job:\n    accounts: [backup]\n    rules:\n      - { name: job, exec: { command: "job", program: /bin/true } }\n`,
      { mode: 0o600 },
    );
  write(rules);
  return { root, log, policy, write };
}

const DISK = '      - { name: disk, exec: { command: "df -h", program: /bin/df } }\n';
const PING = '      - { name: ping, exec: { command: "true", program: /bin/true } }\n';

describe('exit status and output', () => {
  const { log, policy, write } = lab('status', DISK + PING);
  writeFileSync(log, line(30, 'df -h', { rule: 'disk' }) + line(20, 'df -h', { rule: 'disk' }) + line(10, 'true', { rule: 'ping' }));

  it('0 when the policy decides every record as recorded', async () => {
    const r = await captured(['--policy', policy]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('No recorded request would be decided differently.');
    expect(r.stdout).toContain('3 decision records of the last 7 days');
  });

  it('1 when an edit would refuse what was allowed: the request, before and after, how often', async () => {
    write(PING);
    try {
      const r = await captured(['--policy', policy]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        '1 request would be decided differently (2 records):\n\nhost1  df -h\n  before  allow by rule disk\n  after   deny: no-rule-matched\n  seen    2 times, first ',
      );
      const json = JSON.parse((await captured(['--policy', policy, '--json'])).stdout);
      expect(json).toMatchObject({ records: 3, replayed: 3, unchanged: 1, changes: [{ id: 'host1', command: 'df -h', count: 2 }] });
    } finally {
      write(DISK + PING);
    }
  });

  it('the window: --days 1 reads only the last day, --since a span', async () => {
    write(PING);
    try {
      const day = await captured(['--policy', policy, '--days', '1', '--json']);
      expect([day.code, JSON.parse(day.stdout).records]).toEqual([1, 2]);
      const hours = await captured(['--policy', policy, '--since', '15h', '--json']);
      expect([hours.code, JSON.parse(hours.stdout).records]).toEqual([0, 1]);
    } finally {
      write(DISK + PING);
    }
  });

  it.each([
    [['--days', '0'], '--days 0: expected a whole number of days'],
    [['--days', '7d'], '--days 7d: expected a whole number of days'],
    [['--days', '2', '--since', '24h'], 'give --days or --since, not both'],
    [['--since', 'yesterday'], '--since yesterday: expected a span'],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
  ])('a usage error: %j', async (args, message) => {
    await expect(runReplay(['--policy', policy, ...args])).rejects.toThrow(UsageError);
    await expect(runReplay(['--policy', policy, ...args])).rejects.toThrow(message);
  });
});

describe('2 when there is nothing to decide under, or a log cannot be read: never another log, never a silent gap', () => {
  it('a policy that does not load: its errors, and no log read', async () => {
    const { policy, log } = lab('broken', DISK);
    writeFileSync(log, line(1, 'df -h', { rule: 'disk' }));
    writeFileSync(
      policy,
      'version: 1\nidentities:\n  host1:\n    rules:\n      - { name: x, exec: { command: /bin/true }, frobnicate: 1 }\n',
      { mode: 0o600 },
    );
    const r = await captured(['--policy', policy]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain(`ssh-dispatch: the policy at ${policy} does not load: nothing to decide the records under\n`);
    expect(r.stderr).toContain('frobnicate');
  });

  it("the policy's log missing: named", async () => {
    const { policy, log } = lab('missing', DISK);
    const r = await captured(['--policy', policy]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(`ssh-dispatch: ${log}: no such file (no connection recorded yet, or another log: --log FILE, --policy PATH)\n`);
  });

  it("an account's log that cannot be read: named, though root's can", async () => {
    const { policy, log, root } = lab('account-unreadable', DISK);
    writeFileSync(log, line(1, 'df -h', { rule: 'disk' }));
    mkdirSync(join(root, 'log', 'audit.backup.jsonl'));
    const r = await captured(['--policy', policy]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(`ssh-dispatch: ${join(root, 'log', 'audit.backup.jsonl')}: not a regular file\n`);
    // The control: without it, the same run reads root's log and finds nothing changed.
    rmSync(join(root, 'log', 'audit.backup.jsonl'), { recursive: true });
    expect((await captured(['--policy', policy])).code).toBe(0);
  });
});

describe('the logs read', () => {
  const { policy, log, root, write } = lab('sources', DISK);
  const at = (name: string, text: string, hoursAgo: number, gz = false) => {
    const path = join(root, 'log', name);
    writeFileSync(path, gz ? gzipSync(text) : text);
    const when = new Date(Date.now() - hoursAgo * HOUR);
    utimesSync(path, when, when);
  };
  at('audit.jsonl.2.gz', line(24 * 20, 'df -h', { rule: 'disk' }), 24 * 20, true);
  at('audit.jsonl.1', line(50, 'df -h', { rule: 'disk' }), 49);
  at('audit.jsonl', line(2, 'df -h', { rule: 'disk' }), 1);
  // backup's own log: a record of an identity that may log into backup counts; host1's is foreign there.
  at(
    'audit.backup.jsonl',
    line(3, 'job', { rule: 'job' }, { id: 'backup-job', user: 'backup' }) + line(4, 'df -h', { rule: 'disk' }, { user: 'backup' }),
    1,
  );

  it("the rotated files the window reaches into, and the accounts' logs, their foreign records counted apart", async () => {
    write(PING);
    try {
      const r = JSON.parse((await captured(['--policy', policy, '--json'])).stdout);
      // The 20-day-old rotated record is outside the window; audit.jsonl.1's is in it.
      expect(r).toMatchObject({ records: 4, replayed: 3, skipped: { foreign: 1 } });
      expect(r.changes.map((c: { command: string; count: number }) => [c.command, c.count])).toEqual([['df -h', 2]]);
      const month = JSON.parse((await captured(['--policy', policy, '--json', '--days', '30'])).stdout);
      expect(month.changes[0].count).toBe(3);
    } finally {
      write(DISK);
    }
  });

  it('--log FILE: that file alone (and its rotated files), no account log', async () => {
    const r = JSON.parse((await captured(['--policy', policy, '--log', log, '--json'])).stdout);
    expect(r).toMatchObject({ records: 2, replayed: 2, skipped: {} });
  });
});
