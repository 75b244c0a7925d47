/**
 * What an sftp or scp session's end record says it wrote (`writes`, audit/writes.ts), built by
 * the dispatcher from the file server's events; and the cap on `file` records per session.
 */
import { describe, expect, it } from 'vitest';
import { eventSink, MAX_FILE_RECORDS } from '../../../src/act/files-session.js';
import type { FileEvent } from '../../../src/act/files/events.js';
import { MAX_PENDING, SessionWrites } from '../../../src/act/files/session-writes.js';

const writesOf = (events: FileEvent[]) => {
  const writes = new SessionWrites();
  for (const event of events) writes.add(event);
  return writes.facts();
};

describe('SessionWrites', () => {
  it('restic: temp files renamed into place are created under their last name; a lock made and removed is not there at all', () => {
    const facts = writesOf([
      { op: 'write', path: '/locks/L', bytes: 100, created: true },
      { op: 'mkdir', path: '/data/ab' },
      { op: 'write', path: '/data/ab/abc-restic-temp-1', bytes: 4000, created: true },
      { op: 'rename', path: '/data/ab/abc-restic-temp-1', to: '/data/ab/abc' },
      { op: 'write', path: '/snapshots/S-restic-temp-2', bytes: 300, created: true },
      { op: 'rename', path: '/snapshots/S-restic-temp-2', to: '/snapshots/S' },
      { op: 'remove', path: '/locks/L' },
    ]);
    expect(facts).toMatchObject({ created: ['/data/ab/abc', '/snapshots/S'], replaced: [], removed: [], created_count: 2, bytes: 4400 });
  });

  it('a stored file replaced, one removed, one renamed away: replaced, removed (and the new name created)', () => {
    const facts = writesOf([
      { op: 'write', path: '/invoice.txt', bytes: 4, replaced: true },
      { op: 'remove', path: '/old.txt' },
      { op: 'rename', path: '/a', to: '/b' },
      { op: 'rename', path: '/c', to: '/invoice.txt', replaced: true },
      { op: 'rmdir', path: '/stored-dir' },
      { op: 'setstat', path: '/x' },
      { op: 'read', path: '/y', bytes: 9 },
      { op: 'remove', path: '/z', refused: 'no-delete' },
    ]);
    expect(facts).toMatchObject({
      created: ['/b'],
      replaced: ['/invoice.txt', '/invoice.txt'],
      removed: ['/old.txt', '/a', '/c', '/stored-dir'],
      bytes: 4,
    });
  });

  it('a directory the session made and renamed takes the names in it along', () => {
    const facts = writesOf([
      { op: 'mkdir', path: '/t' },
      { op: 'write', path: '/t/f', bytes: 1, created: true },
      { op: 'rename', path: '/t', to: '/u' },
      { op: 'rmdir', path: '/v' },
    ]);
    expect(facts).toMatchObject({ created: ['/u/f'], removed: ['/v'] });
  });

  it('holds at most MAX_PENDING names to follow: the oldest is reported as created first, and every name is counted', () => {
    const writes = new SessionWrites();
    for (let i = 0; i < MAX_PENDING + 5; i++) writes.add({ op: 'write', path: `/f${i}`, bytes: 1, created: true });
    const facts = writes.facts();
    expect(facts.created_count).toBe(MAX_PENDING + 5);
    expect(facts.created[0]).toBe('/f0');
    expect(facts.bytes).toBe(MAX_PENDING + 5);
  });
});

describe('eventSink: per-file records are capped like refusals', () => {
  it(`records the first ${MAX_FILE_RECORDS} done and 100 refused, counts the rest as unrecorded; writes still name everything`, () => {
    const recorded: FileEvent[] = [];
    const sink = eventSink('read-write', (e) => recorded.push(e));
    for (let i = 0; i < 3 * MAX_FILE_RECORDS; i++) sink.line(JSON.stringify({ op: 'read', path: '/stored', bytes: 1 }));
    for (let i = 0; i < 5; i++) sink.line(JSON.stringify({ op: 'write', path: `/new${i}`, bytes: 2, created: true }));
    for (let i = 0; i < 150; i++) sink.line(JSON.stringify({ op: 'remove', path: '/stored', refused: 'no-delete' }));
    const facts = sink.facts();
    expect(recorded.length).toBe(MAX_FILE_RECORDS + 100);
    expect(facts.files).toEqual({ read: 3 * MAX_FILE_RECORDS, write: 5, refused: 150, unrecorded: 2 * MAX_FILE_RECORDS + 5 + 50 });
    expect(facts.writes).toMatchObject({ created: ['/new0', '/new1', '/new2', '/new3', '/new4'], created_count: 5, bytes: 10 });
  });

  it('a read rule has no writes; created and replaced must be true when present, else the line is malformed', () => {
    const sink = eventSink('read', () => {});
    sink.line(JSON.stringify({ op: 'write', path: '/a', created: 'yes' }));
    sink.line(JSON.stringify({ op: 'write', path: '/a', replaced: 1 }));
    expect(sink.facts()).toEqual({ files: { malformed: 2 } });
  });
});
