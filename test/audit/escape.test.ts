/** What reaches the log and the terminal: one printable ASCII line per record, text recoverable. */
import { describe, expect, it } from 'vitest';
import { boundedCommand, toLogLine } from '../../src/audit/escape.js';
import { printable } from '../../src/values/printable.js';

const hostile = [
  'a\nb',
  'a\r{"forged":1}',
  '\u001b[2J\u001b]0;owned\u0007',
  'report\u202efdp.exe',
  'a\u0000b',
  'zero\u200bwidth',
  'Müller 😀',
  '\u2028',
  '\u009b31m',
];

describe('toLogLine', () => {
  it.each(hostile)('keeps %j on one printable ASCII line, and gives it back', (text) => {
    const line = toLogLine({ command: text });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(line)).toEqual({ command: text });
  });
});

describe('boundedCommand', () => {
  it('keeps a short command whole', () => {
    expect(boundedCommand('ls -l')).toEqual({ command: 'ls -l' });
  });
  it('cuts a long one to 4096 characters, with its length and digest', () => {
    const long = 'x'.repeat(70_000);
    const bounded = boundedCommand(long);
    expect(bounded.command).toHaveLength(4096);
    expect(bounded.command_bytes).toBe(70_000);
    expect(bounded.command_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('printable', () => {
  it('shows control and bidi characters as escapes, keeps tabs and letters', () => {
    expect(printable('a\u001b[2Jb\tc\u202ed é')).toBe('a\\x1b[2Jb\tc\\u202ed é');
  });
});
