/**
 * The file server's report on fd 3 (act/files/server-report.ts): one writer, one reader. The
 * server parses the client's bytes, so the reader treats each line as input: every field is
 * checked against what the server can send, and a malformed line is refused with why.
 */
import { describe, expect, it } from 'vitest';
import type { FileEvent, FileSummary } from '../../../src/act/files/events.js';
import { readReport, serialiseReport } from '../../../src/act/files/server-report.js';

const summary: FileSummary = {
  counts: { read: 1, write: 2, remove: 0, rename: 0, mkdir: 0, rmdir: 0, setstat: 0 },
  bytesRead: 9,
  bytesWritten: 10,
  refusals: 1,
  refusalsUnreported: 0,
  ended: 'eof',
};

describe('serialiseReport, then readReport: the same report', () => {
  it.each<[string, FileEvent]>([
    ['a read', { op: 'read', path: '/a', bytes: 0 }],
    ['a write that created its file', { op: 'write', path: '/in/a.txt', bytes: 9, created: true }],
    ['a write that replaced a stored file', { op: 'write', path: '/a', bytes: 1, replaced: true }],
    ['a rename over a name', { op: 'rename', path: '/a', to: '/b', replaced: true }],
    ['a refused rename', { op: 'rename', path: '/a', to: '/b', refused: 'no-delete' }],
    ['a refusal', { op: 'setstat', path: '/a', refused: 'shared-inode' }],
    ['a path with a newline', { op: 'mkdir', path: '/a\nb' }],
  ])('%s', (_name, event) =>
    expect(readReport(serialiseReport({ kind: 'event', event }))).toEqual({ ok: true, report: { kind: 'event', event } }),
  );

  it.each<[string, FileSummary]>([
    ['a clean end', summary],
    ['an idle timeout, with its detail', { ...summary, ended: 'idle-timeout', detail: 'nothing from the client for 600 s' }],
  ])('a summary: %s', (_name, value) =>
    expect(readReport(serialiseReport({ kind: 'summary', summary: value }))).toEqual({
      ok: true,
      report: { kind: 'summary', summary: value },
    }),
  );

  it('one line, whatever the paths hold', () =>
    expect(serialiseReport({ kind: 'event', event: { op: 'read', path: '/a\nb\r' } })).not.toMatch(/[\n\r]/));
});

describe('readReport takes', () => {
  it.each([
    ['{"op":"write","path":"/in/a.txt","bytes":9}', { op: 'write', path: '/in/a.txt', bytes: 9 }],
    ['{"op":"rename","path":"/a","to":"/b"}', { op: 'rename', path: '/a', to: '/b' }],
    ['{"op":"remove","path":"/x","refused":"no-delete"}', { op: 'remove', path: '/x', refused: 'no-delete' }],
    ['{"op":"rename","path":"/x","refused":"outside-root"}', { op: 'rename', path: '/x', refused: 'outside-root' }],
    ['{"op":"read","path":"/a","bytes":1,"decision":"allow","rule":"other"}', { op: 'read', path: '/a', bytes: 1 }],
  ])('%s (only the fields it knows)', (line, event) => expect(readReport(line)).toEqual({ ok: true, report: { kind: 'event', event } }));

  it('a very long path, cut and marked (found in review: a 5000-character refused path was dropped, leaving only a count)', () => {
    const read = readReport(JSON.stringify({ op: 'read', path: `/${'a'.repeat(5000)}`, refused: 'links' }));
    expect(read.ok && read.report.kind === 'event' && read.report.event).toMatchObject({
      op: 'read',
      refused: 'links',
      path: expect.stringMatching(/^\/a{4095}\.\.\.\(5001 characters\)$/),
    });
  });
});

describe('readReport refuses, saying why', () => {
  const summaryLine = (change: Record<string, unknown>) => JSON.stringify({ summary: { ...summary, ...change } });
  it.each([
    ['not JSON', 'write /a', /not JSON/],
    ['an array', '["write","/a"]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['an unknown op', '{"op":"exec","path":"/a"}', /op must be/],
    ['no op', '{"path":"/a"}', /op must be/],
    ['a relative path', '{"op":"read","path":"a"}', /path must be/],
    ['a path that is not a string', '{"op":"read","path":["/a"]}', /path must be/],
    ['negative bytes', '{"op":"read","path":"/a","bytes":-1}', /bytes/],
    ['fractional bytes', '{"op":"read","path":"/a","bytes":1.5}', /bytes/],
    ['bytes on a removal', '{"op":"remove","path":"/a","bytes":1}', /bytes/],
    ['bytes on a refusal', '{"op":"write","path":"/a","bytes":1,"refused":"read-only"}', /bytes/],
    ['a refusal code with other characters', '{"op":"read","path":"/a","refused":"x\\n{\\"decision\\":\\"allow\\"}"}', /refused must be/],
    ['a refusal code the server has not', '{"op":"read","path":"/a","refused":"allowed"}', /refused must be/],
    ['a relative rename target', '{"op":"rename","path":"/a","to":"b"}', /to must be/],
    ['a target on a write', '{"op":"write","path":"/a","to":"/b"}', /to must be/],
    ['a rename done without its target', '{"op":"rename","path":"/a"}', /must say to/],
    ['created as text', '{"op":"write","path":"/a","created":"yes"}', /created/],
    ['created on a mkdir', '{"op":"mkdir","path":"/a","created":true}', /created/],
    ['replaced as a number', '{"op":"write","path":"/a","replaced":1}', /replaced/],
    ['replaced on a refusal', '{"op":"rename","path":"/a","to":"/b","refused":"no-delete","replaced":true}', /replaced/],
    ['created and replaced', '{"op":"write","path":"/a","created":true,"replaced":true}', /either created or replaced/],
    ['a summary that is not an object', '{"summary":null}', /summary must be an object/],
    ['a summary line with more', JSON.stringify({ summary, op: 'read' }), /unknown key "op"/],
    ['a summary with an unknown end', summaryLine({ ended: 'done' }), /summary\.ended/],
    ['a summary without its end', summaryLine({ ended: undefined }), /has no ended/],
    ['a summary with negative bytes', summaryLine({ bytesRead: -1 }), /summary\.bytesRead/],
    ['a summary with a count as text', summaryLine({ counts: { ...summary.counts, write: '2' } }), /summary\.counts\.write/],
    ['a summary with an op it does not know', summaryLine({ counts: { ...summary.counts, exec: 1 } }), /unknown key "exec"/],
    ['a summary with a detail that is not text', summaryLine({ detail: { why: 1 } }), /summary\.detail/],
  ])('%s', (_name, line, why) => {
    const read = readReport(line);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error).toMatch(why);
  });
});
