/**
 * --learn-run on the key line: the flags read and refused (a bad line is denied, told to syslog),
 * and the window's clock, pure, with the connection's time passed in.
 */
import { describe, expect, it } from 'vitest';
import { parseForcedArgs } from '../../src/serve/command-line.js';
import { learnWindowLeftMs, learnWindowOpen, MAX_WINDOW_MS, parseUntil } from '../../src/serve/learn-window.js';
import { DEFAULT_POLICY_PATH } from '../../src/policy/schema.js';

/** The connection's clock in these tables. */
const NOW = new Date('2026-12-07T01:00:00.000Z');
const base = { identity: 'a', policyPath: DEFAULT_POLICY_PATH, learn: false };

describe('--learn-run and its paths, read', () => {
  it.each([
    [['--id', 'a', '--learn-run', '2026-12-09T06:00Z'], { until: '2026-12-09T06:00:00.000Z', write: [], read: [] }],
    [
      [
        '--id',
        'a',
        '--learn-run=2026-12-09T06:00:30Z',
        '--learn-write',
        '/srv/backup',
        '--learn-read=/etc/app',
        '--learn-write',
        '/var/tmp/x',
      ],
      { until: '2026-12-09T06:00:30.000Z', write: ['/srv/backup', '/var/tmp/x'], read: ['/etc/app'] },
    ],
    // The paths may come before the window; the order of the flags is free, as for --id.
    [
      ['--learn-write', '/srv/b', '--learn-run', '2026-12-14T01:00Z', '--id', 'a'],
      { until: '2026-12-14T01:00:00.000Z', write: ['/srv/b'], read: [] },
    ],
    // Already ended: a valid line, which records and runs nothing (learn-run.ts).
    [['--id', 'a', '--learn-run', '2020-01-01T00:00Z'], { until: '2020-01-01T00:00:00.000Z', write: [], read: [] }],
  ])('%j', (args, expected) => {
    const parsed = parseForcedArgs(args, NOW);
    expect(typeof parsed).toBe('object');
    const { learnRun, ...rest } = parsed as Exclude<typeof parsed, string>;
    expect(rest).toEqual(base);
    expect({ ...learnRun!, until: learnRun!.until.toISOString() }).toEqual(expected);
  });

  it('a line without it has no learnRun', () => {
    expect(parseForcedArgs(['--id', 'a'], NOW)).toEqual(base);
  });
});

describe('--learn-run and its paths, refused: the line is bad and every request denied', () => {
  it.each([
    [['--id', 'a', '--learn-run'], '--learn-run needs a value'],
    [['--id', 'a', '--learn-run', '--learn-write', '/x'], '--learn-run needs a value'],
    [['--id', 'a', '--learn-write', '/srv'], '--learn-write needs --learn-run UNTIL (the end of the learning window)'],
    [['--id', 'a', '--learn-read=/srv'], '--learn-read needs --learn-run UNTIL (the end of the learning window)'],
    [['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-run', '2026-12-08T00:00Z'], 'duplicate --learn-run'],
    [
      ['--id', 'a', '--learn', '--learn-run', '2026-12-08T00:00Z'],
      '--learn and --learn-run exclude each other: --learn runs nothing, --learn-run runs until UNTIL',
    ],
    // Malformed: a local time, another zone, a relative time, no time, a date that is none.
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00'],
      '--learn-run 2026-12-08T00:00: expected an absolute UTC time such as 2026-12-09T06:00Z',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00+01:00'],
      '--learn-run 2026-12-08T00:00+01:00: expected an absolute UTC time such as 2026-12-09T06:00Z',
    ],
    [['--id', 'a', '--learn-run', '3d'], '--learn-run 3d: expected an absolute UTC time such as 2026-12-09T06:00Z'],
    [['--id', 'a', '--learn-run', '2026-12-08'], '--learn-run 2026-12-08: expected an absolute UTC time such as 2026-12-09T06:00Z'],
    [
      ['--id', 'a', '--learn-run', '2026-12-08t00:00z'],
      '--learn-run 2026-12-08t00:00z: expected an absolute UTC time such as 2026-12-09T06:00Z',
    ],
    [['--id', 'a', '--learn-run', '2027-02-29T00:00Z'], '--learn-run 2027-02-29T00:00Z: not a time of the calendar'],
    [['--id', 'a', '--learn-run', '2026-12-08T24:00Z'], '--learn-run 2026-12-08T24:00Z: not a time of the calendar'],
    [['--id', 'a', '--learn-run', '2026-12-08T00:00:60Z'], '--learn-run 2026-12-08T00:00:60Z: not a time of the calendar'],
    [['--id', 'a', '--learn-run', '2026-13-01T00:00Z'], '--learn-run 2026-13-01T00:00Z: not a time of the calendar'],
    // More than 7 days ahead of the connection: a key line must not be an open door for good.
    [
      ['--id', 'a', '--learn-run', '2026-12-14T01:01Z'],
      '--learn-run 2026-12-14T01:01Z: more than 7 days after now (2026-12-07T01:00:00.000Z): a learning window is at most 7 days',
    ],
    [
      ['--id', 'a', '--learn-run', '2099-01-01T00:00Z'],
      '--learn-run 2099-01-01T00:00Z: more than 7 days after now (2026-12-07T01:00:00.000Z): a learning window is at most 7 days',
    ],
    // Paths: absolute, written as they resolve, never the whole host or a way out of the sandbox.
    [['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', 'backups'], '--learn-write backups: give an absolute path'],
    [['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-read', './x'], '--learn-read ./x: give an absolute path'],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/'],
      '--learn-write /: the whole host is not a path a job may be given',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-read', '/'],
      '--learn-read /: the whole host is not a path a job may be given',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/srv/../etc'],
      '--learn-write /srv/../etc: write the path without ".", "..", "//" or a trailing slash',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/srv//b'],
      '--learn-write /srv//b: write the path without ".", "..", "//" or a trailing slash',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/srv/'],
      '--learn-write /srv/: write the path without ".", "..", "//" or a trailing slash',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-read', '/proc'],
      '--learn-read /proc: proc leads out of the sandbox, it is never bound',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-read', '/proc/1/root'],
      '--learn-read /proc/1/root: proc leads out of the sandbox, it is never bound',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/dev/sda'],
      '--learn-write /dev/sda: dev leads out of the sandbox, it is never bound',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/sys'],
      '--learn-write /sys: sys leads out of the sandbox, it is never bound',
    ],
    [
      ['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-write', '/srv', '--learn-read', '/srv'],
      '--learn-read /srv: the path is named twice',
    ],
    [['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-writ', '/srv'], 'unexpected argument "--learn-writ"'],
  ])('%j: %s', (args, message) => expect(parseForcedArgs(args, NOW)).toBe(message));

  it('/procfs is no /proc: only the directory itself and what lies in it are refused', () => {
    expect(typeof parseForcedArgs(['--id', 'a', '--learn-run', '2026-12-08T00:00Z', '--learn-read', '/procfs'], NOW)).toBe('object');
  });
});

describe('the window, on an injected clock', () => {
  const until = new Date('2026-12-09T06:00:00.000Z');
  const at = (iso: string) => new Date(iso);

  it.each([
    ['2026-12-07T01:00:00.000Z', true],
    ['2026-12-09T05:59:59.999Z', true],
    // It closes at UNTIL itself.
    ['2026-12-09T06:00:00.000Z', false],
    ['2026-12-09T06:00:00.001Z', false],
    ['2027-01-01T00:00:00.000Z', false],
  ])('at %s it is open: %s', (now, open) => expect(learnWindowOpen({ until }, at(now))).toBe(open));

  it('a run may go on to the end of the window, and not past it', () => {
    expect(learnWindowLeftMs({ until }, at('2026-12-09T05:00:00.000Z'))).toBe(3600_000);
    expect(learnWindowLeftMs({ until }, at('2026-12-09T07:00:00.000Z'))).toBe(0);
  });

  it('7 days exactly is allowed, a millisecond more is not (measured from the connection)', () => {
    const now = new Date(until.getTime() - MAX_WINDOW_MS);
    expect(typeof parseForcedArgs(['--id', 'a', '--learn-run', '2026-12-09T06:00Z'], now)).toBe('object');
    expect(parseForcedArgs(['--id', 'a', '--learn-run', '2026-12-09T06:00Z'], new Date(now.getTime() - 1))).toMatch(/more than 7 days/);
    // The same line, read a day later, is a good line again: the bound moves with the connection.
    expect(typeof parseForcedArgs(['--id', 'a', '--learn-run', '2026-12-09T06:00Z'], new Date(now.getTime() + 86_400_000))).toBe('object');
  });

  it('UNTIL is UTC whatever the host zone says', () => {
    expect((parseUntil('2026-12-09T06:00Z') as Date).toISOString()).toBe('2026-12-09T06:00:00.000Z');
    // Date.UTC reads years 0-99 as 1900-1999: refused, not moved.
    expect(parseUntil('0099-01-01T00:00Z')).toBe('--learn-run 0099-01-01T00:00Z: not a time of the calendar');
  });
});
