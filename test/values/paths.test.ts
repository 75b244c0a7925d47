/** isWithin: the one "is this path that directory or below it" every confinement check asks. */
import { describe, expect, it } from 'vitest';
import { isWithin } from '../../src/values/paths.js';

describe('isWithin', () => {
  it.each([
    ['/srv/a', '/srv/a', true],
    ['/srv/a/b', '/srv/a', true],
    ['/srv/ab', '/srv/a', false], // a name that only starts like it
    ['/srv', '/srv/a', false],
    ['/etc', '/', true],
    ['/', '/', true],
    ['/', '/srv', false],
  ])('%s within %s: %s', (path, dir, within) => {
    expect(isWithin(path, dir)).toBe(within);
  });
});
