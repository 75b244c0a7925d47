/** Accounts' logs beside root's (install.sh --account): their names, finding them, and reading them in time order. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accountLogs, accountOfLog, mergeByTime } from '../../src/audit/read.js';
import { accountLogFile } from '../../src/audit/sink.js';
import type { AuditRecord } from '../../src/audit/review.js';

describe('accountLogFile', () => {
  it.each([
    [0, 'root', '/var/log/ssh-dispatch/audit.jsonl'],
    [34, 'backup', '/var/log/ssh-dispatch/audit.backup.jsonl'],
    [1000, 'web-deploy', '/var/log/ssh-dispatch/audit.web-deploy.jsonl'],
    // A name that is no account name a log may carry: root's own file, which the account cannot open (fails closed).
    [1000, '../x', '/var/log/ssh-dispatch/audit.jsonl'],
    [1000, 'A.B', '/var/log/ssh-dispatch/audit.jsonl'],
  ])('uid %s, %s -> %s', (uid, user, file) => {
    expect(accountLogFile('/var/log/ssh-dispatch/audit.jsonl', uid, user)).toBe(file);
  });
});

describe('accountLogs and mergeByTime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-account-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'log'));
  for (const name of [
    'audit.jsonl',
    'audit.jsonl.1',
    'audit.backup.jsonl',
    'audit.backup.jsonl.1',
    'audit.web.jsonl',
    'other.jsonl',
    'audit.Bad.jsonl',
  ])
    writeFileSync(join(dir, 'log', name), '');

  it('finds each account’s current log beside root’s, and nothing else', () => {
    expect(accountLogs(join(dir, 'log', 'audit.jsonl'))).toEqual([
      join(dir, 'log', 'audit.backup.jsonl'),
      join(dir, 'log', 'audit.web.jsonl'),
    ]);
  });

  it.each([
    ['/var/log/ssh-dispatch/audit.jsonl', null],
    ['/var/log/ssh-dispatch/audit.jsonl.1', null],
    ['/var/log/ssh-dispatch/audit.jsonl.2.gz', null],
    ['/var/log/ssh-dispatch/audit.backup.jsonl', 'backup'],
    ['/var/log/ssh-dispatch/audit.backup.jsonl.1', 'backup'],
    ['/var/log/ssh-dispatch/audit.web-deploy.jsonl.3.gz', 'web-deploy'],
    ['/var/log/ssh-dispatch/../ssh-dispatch/audit.backup.jsonl', 'backup'],
    ['/tmp/audit.backup.jsonl', null],
    ['/var/log/ssh-dispatch/audit.Bad.jsonl', null],
    ['/var/log/ssh-dispatch/other.jsonl', null],
  ])('accountOfLog(%s) = %s (a log named with --log is judged as its account’s)', (file, account) => {
    expect(accountOfLog('/var/log/ssh-dispatch/audit.jsonl', file)).toBe(account);
  });

  it('merges logs that are each in time order into one', async () => {
    async function* of(...ts: string[]) {
      for (const t of ts) yield { ts: t } as AuditRecord;
    }
    const merged: string[] = [];
    for await (const record of mergeByTime([of('2026-11-28T01:00:00Z', '2026-11-28T03:00:00Z'), of('2026-11-28T02:00:00Z'), of()]))
      merged.push(String(record.ts));
    expect(merged).toEqual(['2026-11-28T01:00:00Z', '2026-11-28T02:00:00Z', '2026-11-28T03:00:00Z']);
  });
});
