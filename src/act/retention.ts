/**
 * Retention for receive rules (`keep: N`, `keep-within`, `max-uploads`; rules/receive/retention.ts).
 * "Files this rule stores" are the regular files whose names its template produces (with the -N
 * suffix) or its client-name glob allows, never anything else in the directory, never a dotfile
 * (temp files), never a symlink. An upload's age is its mtime: a receive never changes a file
 * once published, so that is when it was stored.
 *
 * After a successful upload, the newest N are kept and older ones removed, except any younger
 * than the window: other uploads, however many, never rotate a young upload away. The same
 * window bounds a flood: past max-uploads stored within it, an upload is refused.
 */
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compilePattern, matchPattern } from '../values/pattern.js';
import type { ReceivePlan } from '../rules/plan.js';
import { CLIENT_NAME } from '../rules/receive/match.js';

export interface Stored {
  name: string;
  mtimeMs: number;
}

/**
 * Which of the rule's files to remove: all past the newest `keep` that are older than the window
 * (windowMs 0: none is too young). `justStored` counts as the newest whatever its clock says.
 */
export function toPrune(files: readonly Stored[], keep: number, windowMs: number, nowMs: number, justStored: string): string[] {
  const newestFirst = [...files].sort((a, b) =>
    a.name === justStored ? -1 : b.name === justStored ? 1 : b.mtimeMs - a.mtimeMs || b.name.localeCompare(a.name),
  );
  return newestFirst
    .slice(keep)
    .filter((f) => !(windowMs > 0 && nowMs - f.mtimeMs < windowMs))
    .map((f) => f.name);
}

/** How many of the rule's files are younger than the window: what max-uploads caps. */
export function storedWithin(files: readonly Stored[], windowMs: number, nowMs: number): number {
  return files.filter((f) => nowMs - f.mtimeMs < windowMs).length;
}

/** The regular files of the rule in `dir`, with their mtimes. */
export function ruleFiles(dir: string, retention: ReceivePlan['retention']): Stored[] {
  const template = new RegExp(retention.pattern);
  const glob = retention.clientName === null ? null : compilePattern(retention.clientName);
  const ours: Stored[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const byTemplate = template.test(name);
    const byClient = glob !== null && CLIENT_NAME.test(name) && matchPattern(glob, name);
    if (!byTemplate && !byClient) continue;
    try {
      const stats = lstatSync(join(dir, name));
      if (stats.isFile()) ours.push({ name, mtimeMs: stats.mtimeMs });
    } catch {
      // Removed meanwhile.
    }
  }
  return ours;
}

/** Removes what toPrune chooses; returns the names removed. */
export function pruneUploads(
  dir: string,
  keep: number,
  retention: ReceivePlan['retention'],
  justStored: string,
  nowMs = Date.now(),
): string[] {
  const pruned: string[] = [];
  for (const name of toPrune(ruleFiles(dir, retention), keep, retention.windowMs, nowMs, justStored)) {
    try {
      unlinkSync(join(dir, name));
      pruned.push(name);
    } catch {
      // Removed meanwhile.
    }
  }
  return pruned;
}
