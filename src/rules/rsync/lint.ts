/** What `check` says about an rsync rule on its own; what needs the host is host/rsync-findings.ts (rsync's version) and cli/check/data-directory.ts (the directory). */
import type { RsyncRule } from './rule.js';

/**
 * An earlier rsync rule takes every request a later one would: the same settings, its access
 * includes the later one's, and it takes every path the later one does. A rule without
 * absolute-paths or paths takes every path (an absolute one is re-read under its root), so a
 * later rule with another root is never reached (found in review: roots /srv/etc then /srv/home).
 */
export function rsyncCovers(earlier: RsyncRule, later: RsyncRule): boolean {
  const access = earlier.access === 'read-write' || earlier.access === later.access;
  const settings =
    earlier.delete === later.delete &&
    earlier.overwrite === later.overwrite &&
    earlier.acls === later.acls &&
    earlier.xattrs === later.xattrs;
  const takesAll = !earlier.absolutePaths && earlier.paths === null;
  const samePaths = earlier.root === later.root && JSON.stringify(earlier.paths) === JSON.stringify(later.paths);
  return access && settings && (takesAll || samePaths);
}

/** A push may write into root, or its paths. */
export function rsyncWritesTo(rule: RsyncRule): string[] {
  return rule.access === 'read' ? [] : (rule.paths ?? [rule.root]);
}
