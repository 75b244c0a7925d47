/**
 * What rsync's receiver logs with --log-file-format='%i %l %n' (lines as rsync 3.5.0 wrote them
 * for real pushes), read into the end record's writes.
 */
import { describe, expect, it } from 'vitest';
import { readReportLine, RsyncReport } from '../../src/act/rsync-report.js';

const TOKEN = '0123456789abcdef';
const at = `2026/12/06 20:31:11 [7533] ${TOKEN} `;

describe('readReportLine', () => {
  it.each([
    [`${at}>f+++++++++ 8 f2`, 'dst/', { op: 'created', name: 'dst/f2', bytes: 8 }],
    [`${at}cd+++++++++ 4096 newdir/`, 'dst/', { op: 'created', name: 'dst/newdir/', bytes: 0 }],
    [`${at}cd+++++++++ 4096 ./`, '2026-12-06/', { op: 'created', name: '2026-12-06/', bytes: 0 }],
    [`${at}hf+++++++++ 6 f1`, 'dst', { op: 'created', name: 'dst/f1', bytes: 0 }],
    [`${at}cL+++++++++ 3 link`, '.', { op: 'created', name: 'link', bytes: 0 }],
    [`${at}>f.s....... 8 f2`, 'dst/', { op: 'replaced', name: 'dst/f2', bytes: 8 }],
    [`${at}>f..t...... 6 f3`, 'dst/', { op: 'replaced', name: 'dst/f3', bytes: 6 }],
    [`${at}.f...p..... 6 f1`, 'dst/', { op: 'replaced', name: 'dst/f1', bytes: 0 }], // attributes only
    [`${at}.d..t...... 4096 ./`, 'dst/', { op: 'replaced', name: 'dst/', bytes: 0 }],
    [`${at}*deleting   0 sub/g`, 'dst/', { op: 'removed', name: 'dst/sub/g', bytes: 0 }],
    [`${at}>f+++++++++ 5 name with spaces.txt`, 'dst/', { op: 'created', name: 'dst/name with spaces.txt', bytes: 5 }],
  ])('%s', (line, dest, change) => {
    expect(readReportLine(line, dest, TOKEN)).toEqual(change);
  });

  it.each([
    `${at}receiving file list`,
    `${at}sent 122 bytes  received 424 bytes  total size 28`,
    `${at}.f          6 unchanged`,
    `${at}hf          6 hl`,
    '>f+++++++++ 8 f2', // no clock and pid: not rsync's log line
    // A message the client sent, which rsync logs with the same prefix (found in review): no token.
    '2026/12/06 20:31:11 [7533] >f+++++++++ 999999999999 2026-12-01/etc/shadow',
    '2026/12/06 20:31:11 [7533] fedcba9876543210 *deleting   0 etc/passwd',
    `${at}>f+++++++++ x f2`,
    '',
  ])('not a change: %j', (line) => {
    expect(readReportLine(line, 'dst/', TOKEN)).toBeNull();
  });
});

describe('RsyncReport', () => {
  it('in a snapshot the dispatcher made, everything is created, though rsync reports attribute changes', () => {
    const report = new RsyncReport('2026-12-06/', TOKEN, true);
    report.line(`${at}.d..t...... 4096 ./`);
    report.line(`${at}.d..t...... 4096 etc/`);
    expect(report.writes.facts()).toMatchObject({ created: ['2026-12-06/', '2026-12-06/etc/'], replaced: [] });
  });

  it('adds up a push, and counts what it could not read', () => {
    const report = new RsyncReport('2026-12-06/', TOKEN);
    for (const line of [
      `${at}receiving file list`,
      `${at}cd+++++++++ 4096 ./`,
      `${at}>f+++++++++ 8 a`,
      `${at}>f+++++++++ 2 sub/b`,
      `${at}*deleting   0 old`,
    ])
      report.line(line);
    expect(report.writes.facts()).toMatchObject({
      created: ['2026-12-06/', '2026-12-06/a', '2026-12-06/sub/b'],
      removed: ['2026-12-06/old'],
      replaced: [],
      bytes: 10,
    });
    expect(report.unread).toBe(1);
  });
});
