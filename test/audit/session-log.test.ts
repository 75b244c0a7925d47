/**
 * A connection's log: when the audit file cannot take a record, the request is denied and syslog
 * is told why, with the code `audit-unwritable` first, as the record would have carried it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionLog } from '../../src/audit/session-log.js';
import { tellSyslog } from '../../src/audit/sink.js';
import type { AuditRecord } from '../../src/audit/record.js';

vi.mock('../../src/audit/sink.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/audit/sink.js')>()),
  tellSyslog: vi.fn(),
}));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-session-log-'));
  vi.mocked(tellSyslog).mockClear();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SessionLog', () => {
  it('an audit log that cannot be opened: no log (the caller denies), and syslog gets audit-unwritable', () => {
    expect(SessionLog.open(join(dir, 'missing', 'audit.jsonl'), null, 'session s1, id host1')).toBeNull();
    expect(tellSyslog).toHaveBeenCalledWith(
      expect.stringMatching(/^audit-unwritable: request denied \(session s1, id host1\): cannot open .*ENOENT/),
    );
  });

  it('a log that takes its records: true, and syslog hears nothing', () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, '');
    const log = SessionLog.open(path, null, 'session s2, id host1')!;
    expect(log.append({ event: 'decision' } as AuditRecord)).toBe(true);
    expect(tellSyslog).not.toHaveBeenCalled();
  });
});
