/**
 * Issue 27's day-one bugs in logs, summary and status: a policy that does not load names no log
 * (they said nothing and read the default one); a --since window reaches into the rotated logs
 * without --rotated; --follow follows every account's log, one created later too.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { followLogs } from '../../src/audit/read.js';
import type { AuditRecord } from '../../src/audit/review.js';
import { runLogs } from '../../src/cli/logs.js';
import { runStatus } from '../../src/cli/status.js';
import { runSummary } from '../../src/cli/summary.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-day-one-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** What `run` printed on stdout and stderr, and its exit status. */
async function captured(run: (args: string[]) => Promise<number>, args: string[]) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  vi.spyOn(console, 'log').mockImplementation((...words) => void (stdout += `${words.join(' ')}\n`));
  const code = await run(args);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

const HOUR = 3600_000;
function record(hoursAgo: number, command: string, session = '0123456789abcdef'): string {
  const ts = new Date(Date.now() - hoursAgo * HOUR).toISOString();
  return `${JSON.stringify({ ts, event: 'decision', session, id: 'h1', decision: 'deny', reason: 'no-rule-matched', command })}\n`;
}

describe('a policy that does not load names no log: logs, summary and status say so instead of reading another', () => {
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'version: 1\nidentities:\n  h1:\n    rules:\n      - { name: x, exec: { command: /bin/true }, frobnicate: 1 }\n', {
    mode: 0o600,
  });
  const log = join(dir, 'named.jsonl');
  writeFileSync(log, record(1, 'named-log'));

  it.each([
    ['logs', runLogs],
    ['summary', runSummary],
  ])('%s without --log: exit 1, naming the policy and --log', async (_name, run) => {
    const r = await captured(run, ['--policy', broken]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    // Before: the default log was read (here "no such file"; on a host with one, its records and exit 0).
    expect(r.stderr).toBe(
      `ssh-dispatch: the policy at ${broken} does not load (ssh-dispatch check --policy ${broken} says why); which log to read is not known: give --log FILE to read one anyway\n`,
    );
  });

  it.each([
    ['logs', runLogs],
    ['summary', runSummary],
  ])('%s with --log and a --policy that does not load: exit 1 (before: exit 0, the policy ignored)', async (_name, run) => {
    const r = await captured(run, ['--policy', broken, '--log', log]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not load .*; fix it, or leave --policy out\n$/);
  });

  it('status: UNKNOWN with the same reason', async () => {
    const r = await captured(runStatus, ['--policy', broken]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^SSH-DISPATCH UNKNOWN - the policy at .*broken\.yaml does not load .*give --log FILE/);
  });

  it('the control: --log alone reads the log it names, exit 0', async () => {
    const r = await captured(runLogs, ['--log', log, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"command":"named-log"');
  });
});

describe('rotated logs are read when the --since window reaches into them', () => {
  const logDir = join(dir, 'rotated');
  mkdirSync(logDir);
  const log = join(logDir, 'audit.jsonl');
  writeFileSync(log, record(1, 'current'));
  // Rotated a day ago (its last write), and twenty days ago.
  writeFileSync(`${log}.1`, record(30, 'yesterday'));
  utimesSync(`${log}.1`, new Date(Date.now() - 24 * HOUR), new Date(Date.now() - 24 * HOUR));
  writeFileSync(`${log}.2`, record(20 * 24, 'long-ago'));
  utimesSync(`${log}.2`, new Date(Date.now() - 19 * 24 * HOUR), new Date(Date.now() - 19 * 24 * HOUR));
  const commands = (out: string) => [...out.matchAll(/"command":"([^"]+)"/g)].map((m) => m[1]);

  it('logs --since 3d reads audit.jsonl.1 too, not .2 (before: the current log alone)', async () => {
    expect(commands((await captured(runLogs, ['--log', log, '--json', '--since', '3d'])).stdout)).toEqual(['yesterday', 'current']);
  });

  it('logs without --since: the current log; --rotated: all of them', async () => {
    expect(commands((await captured(runLogs, ['--log', log, '--json'])).stdout)).toEqual(['current']);
    expect(commands((await captured(runLogs, ['--log', log, '--json', '--rotated'])).stdout)).toEqual(['long-ago', 'yesterday', 'current']);
  });

  it('summary (its default window, 7d) counts the rotated file the window needs', async () => {
    const r = await captured(runSummary, ['--log', log, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('yesterday');
    expect(r.stdout).toContain('current');
    expect(r.stdout).not.toContain('long-ago');
  });
});

describe('followLogs follows every account log beside root’s', () => {
  it('root’s, an account’s there from the start, and one created after following started', async () => {
    const logDir = join(dir, 'follow');
    mkdirSync(logDir);
    const root = join(logDir, 'audit.jsonl');
    const backup = join(logDir, 'audit.backup.jsonl');
    const web = join(logDir, 'audit.web.jsonl');
    writeFileSync(root, record(2, 'before-root'));
    writeFileSync(backup, record(2, 'before-backup'));
    const seen: string[] = [];
    const stop = new AbortController();
    const following = followLogs(
      root,
      (r: AuditRecord, log) => seen.push(`${String((r as { command?: string }).command)} in ${log}`),
      { skipped: 0 },
      10,
      stop.signal,
    );
    try {
      // Let the followers open their files (at their ends) before anything is appended.
      await new Promise((r) => setImmediate(r));
      appendFileSync(root, record(0, 'root-new'));
      appendFileSync(backup, record(0, 'backup-new'));
      await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 5000, interval: 10 });
      writeFileSync(web, record(0, 'web-first'));
      await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 5000, interval: 10 });
    } finally {
      stop.abort();
      await following;
    }
    expect(seen.sort()).toEqual([`backup-new in ${backup}`, `root-new in ${root}`, `web-first in ${web}`]);
  });
});
