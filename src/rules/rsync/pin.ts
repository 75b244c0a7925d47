/**
 * Where a pull's rsync should start, so that the directories the check resolved are the ones
 * rsync reads: the dispatcher enters the operands' deepest common directory (host/confine-check.ts
 * enterConfinedCwd) and hands rsync the rest of each path relative to it.
 *
 * Why: between the on-disk check and rsync's open, a local user who can write inside root can
 * swap a checked directory for a symlink that leads out of it (rrsync's CVE-2026-53783). rsync
 * 3.5 walks the destination and option paths safely, but not a sender's source paths. A working
 * directory is held by inode, not by name, so once entered and verified it cannot be swapped.
 * rrsync does the same with /proc/self/fd/N; a descriptor would not survive Node's execve.
 *
 * Names must not change: rsync transmits a source "dir/" as its contents, "dir/file" as "file"
 * (so the parent can be entered and the leaf named, which rsync lstat()s and never follows), and
 * under --relative the part after the first "/./", or the whole path without one. What is left
 * below the anchor is resolved by rsync by name: a --relative path without "/./" (rsnapshot's
 * shape), and the differing tails of a pull from several directories. docs/rules/rsync.md names that residual.
 */
import { resolveParts } from './confine.js';

export interface PinnedPull {
  /** Directory parts under root that rsync starts in. */
  anchor: string[];
  /** The operands, rewritten relative to the anchor. */
  operands: string[];
}

interface OperandPin {
  anchor: string[];
  /** What rsync is given when the anchor is entered: the transmitted part of the operand. */
  rest: string;
  /** How `rest` is joined after anchor parts left over when several operands share less. */
  joiner: '/' | '/./';
}

const UNPINNED = (operand: string): OperandPin => ({ anchor: [], rest: operand, joiner: '/' });

function pinOne(operand: string, relative: boolean): OperandPin {
  // Kept as the client sent it (a paths: rule's --relative pull): named from /, left to rsync.
  if (operand.startsWith('/')) return UNPINNED(operand);
  if (relative) {
    const marker = operand.indexOf('/./');
    if (marker < 0) return UNPINNED(operand);
    const head = resolveParts([], operand.slice(0, marker));
    const tail = operand.slice(marker + 3);
    if (head === null || tail.startsWith('/')) return UNPINNED(operand);
    return { anchor: head, rest: tail === '' ? './' : tail, joiner: '/./' };
  }
  const parts = resolveParts([], operand);
  if (parts === null || parts.length === 0) return UNPINNED(operand);
  if (operand.endsWith('/')) return { anchor: parts, rest: './', joiner: '/' };
  if (operand.endsWith('/.')) return { anchor: parts, rest: '.', joiner: '/' };
  return { anchor: parts.slice(0, -1), rest: parts[parts.length - 1]!, joiner: '/' };
}

function commonPrefix(lists: readonly string[][]): string[] {
  const first = lists[0] ?? [];
  let length = first.length;
  for (const list of lists) {
    let i = 0;
    while (i < length && i < list.length && list[i] === first[i]) i++;
    length = i;
  }
  return first.slice(0, length);
}

/**
 * Operands are relative to root, as rules/rsync/match.ts confined them (no "..", no leading "/").
 * The anchor must exist when it is entered; a pull whose directory is missing is refused there
 * (rsync-source-unreachable) rather than pinned higher up, where the missing name would be left for
 * rsync to resolve, and for a local user to create as a symlink in the meantime.
 */
export function pinPull(operands: readonly string[], relative: boolean): PinnedPull {
  const pins = operands.map((operand) => pinOne(operand, relative));
  const anchor = commonPrefix(pins.map((pin) => pin.anchor));
  return {
    anchor,
    operands: pins.map((pin) => {
      const left = pin.anchor.slice(anchor.length);
      if (left.length === 0) return pin.rest;
      return `${left.join('/')}${pin.joiner}${pin.rest === './' ? '' : pin.rest}`;
    }),
  };
}
