/**
 * How an rsync rule sees a client's path: under `absolute-paths` (and `paths:`) an absolute path
 * is the real path, one under root has root taken off, one outside root is not this rule's (the
 * next rule is tried), never re-rooted; every path must lie in the rule's paths (or root).
 */
import type { DenyReason } from '../../values/deny-reason.js';
import { isWithin } from '../../values/paths.js';
import type { RsyncRule } from './rule.js';

/** Why the rule refuses the request (null reason: not this rule's business, the next is tried). */
export type Refused = { ok: false; why: string; reason: DenyReason | null };

export function refuse(reason: DenyReason, why: string): Refused {
  return { ok: false, reason, why };
}

export interface RootView {
  /** The subtrees every path must lie in: `paths:`, or root. */
  within: readonly string[];
  outsideRoot(path: string): boolean;
  /** The path as root sees it: an absolute one under root with root taken off. */
  underRoot(path: string): string;
  inPaths(path: string): boolean;
}

export function rootView(rule: RsyncRule): RootView {
  const realPaths = rule.absolutePaths || rule.paths !== null;
  const within = rule.paths ?? [rule.root];
  return {
    within,
    outsideRoot: (path) => realPaths && path.startsWith('/') && !isWithin(path, rule.root),
    underRoot: (path) => {
      if (!realPaths || rule.root === '/' || !path.startsWith('/')) return path;
      if (path === rule.root) return '/';
      return path.startsWith(`${rule.root}/`) ? path.slice(rule.root.length) : path;
    },
    inPaths: (path) => within.some((subtree) => isWithin(path, subtree)),
  };
}
