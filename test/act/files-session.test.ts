/**
 * The dispatcher's side of the file server (act/files-session.ts): the launch it writes from a
 * plan, and what it keeps of the server's report. The server parses the client's bytes, so its
 * lines are input: a malformed one is refused and counted, never recorded as the server put it.
 */
import { describe, expect, it } from 'vitest';
import { eventSink, launchOf } from '../../src/act/files-session.js';
import type { FileEvent } from '../../src/act/files/events.js';
import { readLaunch, serialiseLaunch } from '../../src/act/files/launch.js';
import type { FilesPlan } from '../../src/rules/plan.js';

const policy = {
  root: '/srv/r',
  access: 'read-write',
  delete: false,
  overwrite: true,
  umask: 0o022,
  minFreeBytes: 0,
  idleTimeoutMs: 600_000,
} as const;
const scp = { direction: 'to-server', recursive: true, preserveTimes: false, targetMustBeDir: false, path: 'in' } as const;
const plan = (protocol: 'sftp' | 'scp', transfer: FilesPlan['scp']) =>
  ({ kind: 'files', protocol, policy, scp: transfer, sandbox: {} }) as unknown as FilesPlan;

describe('launchOf: the launch the server reads back', () => {
  it.each([
    ['sftp', plan('sftp', null), { protocol: 'sftp', policy }],
    ['legacy scp', plan('scp', scp), { protocol: 'scp', policy, scp }],
  ])('%s', (_name, files, launch) => expect(readLaunch(serialiseLaunch(launchOf(files)))).toEqual({ ok: true, launch }));

  it('a legacy scp plan without its transfer starts no server', () => expect(() => launchOf(plan('scp', null))).toThrow(/nothing served/));
});

describe('eventSink: what the dispatcher keeps of the report', () => {
  const run = (lines: string[]) => {
    const recorded: FileEvent[] = [];
    const sink = eventSink('read-write', (event) => recorded.push(event));
    for (const line of lines) sink.line(line);
    return { recorded, files: sink.facts().files, idle: sink.idle };
  };

  it.each([
    [
      'a good event is recorded and counted',
      ['{"op":"read","path":"/a","bytes":1}'],
      [{ op: 'read', path: '/a', bytes: 1 }],
      { read: 1 },
      false,
    ],
    [
      'a malformed event is refused and counted',
      ['{"op":"read","path":"a"}', 'not json', '{"op":"exec","path":"/a"}'],
      [],
      { malformed: 3 },
      false,
    ],
    [
      'a refusal is counted apart',
      ['{"op":"remove","path":"/x","refused":"no-delete"}'],
      [{ op: 'remove', path: '/x', refused: 'no-delete' }],
      { refused: 1 },
      false,
    ],
    [
      "an idle-timeout summary is the end record's outcome",
      [
        '{"summary":{"counts":{"read":0,"write":0,"remove":0,"rename":0,"mkdir":0,"rmdir":0,"setstat":0},"bytesRead":0,"bytesWritten":0,"refusals":0,"refusalsUnreported":0,"ended":"idle-timeout","detail":"nothing from the client for 600 s"}}',
      ],
      [],
      {},
      true,
    ],
    [
      'a clean summary changes nothing',
      [
        '{"summary":{"counts":{"read":0,"write":0,"remove":0,"rename":0,"mkdir":0,"rmdir":0,"setstat":0},"bytesRead":0,"bytesWritten":0,"refusals":0,"refusalsUnreported":0,"ended":"eof"}}',
      ],
      [],
      {},
      false,
    ],
    [
      'a malformed summary is refused, counted, and says nothing of the end',
      ['{"summary":{"ended":"idle-timeout"}}', '{"summary"'],
      [],
      { malformed: 2 },
      false,
    ],
  ])('%s', (_name, lines, recorded, files, idle) => expect(run(lines)).toEqual({ recorded, files, idle }));
});
