/** What `check` says about an rsync rule on its own; what needs the host (rsync's version, the directory) is in cli/check.ts. */
import type { RsyncRule } from './rule.js';

/** An earlier rsync rule takes every request a later one would: same root and settings, and its access includes the later one's. */
export function rsyncCovers(earlier: RsyncRule, later: RsyncRule): boolean {
  const access = earlier.access === 'read-write' || earlier.access === later.access;
  return access && earlier.root === later.root && earlier.delete === later.delete && earlier.overwrite === later.overwrite && earlier.acls === later.acls && earlier.xattrs === later.xattrs;
}

/** A push may write into root. */
export function rsyncWritesTo(rule: RsyncRule): string[] {
  return rule.access === 'read' ? [] : [rule.root];
}
