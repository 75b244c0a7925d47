/** The one duration grammar (policies and the command line), and the bounds a policy adds. */
import { describe, expect, it } from 'vitest';
import { parseDuration, parsePolicyDuration } from '../../src/values/units.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['0h', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'm', '5 m', '05m', '-1d', '1.5h', '5min', '1y'])('%j is no duration', (text) => expect(parseDuration(text)).toBeNull());

  it.each([
    ['10m', 600_000],
    ['52w', 52 * 604_800_000],
    ['0s', null], // a policy timeout of nothing is a mistake
    ['367d', null], // over a year
  ])('in a policy, %s is %s', (text, ms) => expect(parsePolicyDuration(text)).toBe(ms));
});
