/**
 * The file server's report, read by the dispatcher (act/files-session.ts): the server parses the
 * client's bytes, so its lines are input, checked before they become audit records.
 */
import { describe, expect, it } from 'vitest';
import { idleTimedOut, readFileEvent } from '../../src/act/files-session.js';

describe('readFileEvent', () => {
  it.each([
    ['{"op":"write","path":"/in/a.txt","bytes":9}', { op: 'write', path: '/in/a.txt', bytes: 9 }],
    ['{"op":"rename","path":"/a","to":"/b"}', { op: 'rename', path: '/a', to: '/b' }],
    ['{"op":"remove","path":"/x","refused":"no-delete"}', { op: 'remove', path: '/x', refused: 'no-delete' }],
  ])('takes %s', (line, event) => {
    expect(readFileEvent(line)).toEqual(event);
  });

  it.each([
    ['not JSON', 'write /a'],
    ['an array', '["write","/a"]'],
    ['an unknown op', '{"op":"exec","path":"/a"}'],
    ['a relative path', '{"op":"read","path":"a"}'],
    ['a path that is not a string', '{"op":"read","path":["/a"]}'],
    ['negative bytes', '{"op":"read","path":"/a","bytes":-1}'],
    ['fractional bytes', '{"op":"read","path":"/a","bytes":1.5}'],
    ['a refusal code with other characters', '{"op":"read","path":"/a","refused":"x\\n{\\"decision\\":\\"allow\\"}"}'],
    ['a relative rename target', '{"op":"rename","path":"/a","to":"b"}'],
  ])('drops %s', (_name, line) => {
    expect(readFileEvent(line)).toBeNull();
  });

  it('keeps a very long path, cut and marked (found in review: a 5000-character refused path was dropped, leaving only a count)', () => {
    const event = readFileEvent(JSON.stringify({ op: 'read', path: `/${'a'.repeat(5000)}`, refused: 'links' }));
    expect(event).toMatchObject({ op: 'read', refused: 'links' });
    expect(event!.path).toMatch(/^\/a{4095}\.\.\.\(5001 characters\)$/);
  });

  it('keeps only the fields it knows', () => {
    expect(readFileEvent('{"op":"read","path":"/a","bytes":1,"decision":"allow","rule":"other"}')).toEqual({ op: 'read', path: '/a', bytes: 1 });
  });
});

describe('idleTimedOut: the server\'s summary line, read for the end record\'s outcome', () => {
  it.each([
    ['{"summary":{"ended":"idle-timeout","detail":"nothing from the client for 600 s"}}', true],
    ['{"summary":{"ended":"eof"}}', false],
    ['{"summary":{"ended":"protocol-error"}}', false],
    ['{"summary":null}', false],
    ['{"summary"', false],
    ['null', false],
  ])('%s -> %s', (line, idle) => expect(idleTimedOut(line)).toBe(idle));
});
