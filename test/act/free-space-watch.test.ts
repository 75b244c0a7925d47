/**
 * How often a push's free-space floor is looked at (act/free-space-watch.ts): the next look comes
 * before the headroom could be used up at the fastest fill rate seen, or at 2 MiB/ms if that is
 * faster, and never more often than every 2 ms or less often than every second.
 */
import { describe, expect, it } from 'vitest';
import { createdBySession, nextLookMs } from '../../src/act/free-space-watch.js';

const MiB = 1024 * 1024;

describe('nextLookMs', () => {
  it.each([
    // headroom, fill rate seen (bytes/ms), next look (ms)
    [100 * 1024 * MiB, 0, 1000], // far from the floor: once a second
    [2 * 1024 * MiB, 0, 512], // 2 GiB at 2 MiB/ms takes 1024 ms; look at half of that
    [100 * MiB, 0, 25],
    [100 * MiB, 10 * MiB, 5], // a faster fill seen: look sooner
    [1 * MiB, 0, 2], // at the floor: as often as it is worth
    [0, 0, 2],
  ])('%d bytes of headroom, filling at %d bytes/ms: look again in %d ms', (headroom, rate, ms) => {
    expect(nextLookMs(headroom, rate)).toBe(ms);
  });

  it('never waits longer than the headroom lasts at the assumed fill rate', () => {
    for (let headroom = 0; headroom < 4096 * MiB; headroom += 97 * MiB) {
      expect(nextLookMs(headroom, 0) * 2 * MiB).toBeLessThanOrEqual(Math.max(headroom, 2 * 2 * MiB));
    }
  });
});

describe('createdBySession: what the cleanup at the floor may remove', () => {
  const since = 1_000_000;
  const file = (nlink: number, birthtimeMs: number, isFile = true) => ({ nlink, birthtimeMs, isFile: () => isFile });
  it.each([
    ['.f.txt.Ab12Cd', file(1, since + 5), true],
    // A stored dotfile whose name has the shape of rsync's temporary names (found in review).
    ['.profile.backup', file(1, since - 86_400_000), false],
    ['.f.txt.Ab12Cd', file(2, since + 5), false], // hard-linked: someone's history
    ['.f.txt.Ab12Cd', file(1, 0), false], // no birth time on this filesystem: proves nothing
    ['.f.txt.Ab12Cd', file(1, since + 5, false), false],
    ['f.txt', file(1, since + 5), false], // not a temporary name: a file written in place
  ])('%s %o: %s', (name, open, removed) => {
    expect(createdBySession(name, open, since)).toBe(removed);
  });
});
