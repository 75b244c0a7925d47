/**
 * Retention for receive rules (`keep: N`): after a successful upload, the newest N files this
 * rule stores are kept and older ones removed. "Files this rule stores" are the regular files
 * whose names its template produces (with the -N suffix) or its client-name glob allows, never
 * anything else in the directory, never a dotfile (temp files), never a symlink.
 */
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compilePattern, matchPattern } from '../values/pattern.js';
import type { ReceivePlan } from '../rules/plan.js';
import { CLIENT_NAME } from '../rules/receive/match.js';

export function pruneUploads(dir: string, keep: number, retention: ReceivePlan['retention'], justStored: string): string[] {
  const template = new RegExp(retention.pattern);
  const ours: { name: string; mtimeMs: number }[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const byTemplate = template.test(name);
    const byClient = retention.clientName !== null && CLIENT_NAME.test(name) && matchPattern(compilePattern(retention.clientName), name);
    if (!byTemplate && !byClient) continue;
    try {
      const stats = lstatSync(join(dir, name));
      if (stats.isFile()) ours.push({ name, mtimeMs: stats.mtimeMs });
    } catch {
      // Removed meanwhile.
    }
  }
  // Newest first; the upload just stored counts as the newest whatever its clock says.
  ours.sort((a, b) => (a.name === justStored ? -1 : b.name === justStored ? 1 : b.mtimeMs - a.mtimeMs || b.name.localeCompare(a.name)));
  const pruned: string[] = [];
  for (const { name } of ours.slice(keep)) {
    try {
      unlinkSync(join(dir, name));
      pruned.push(name);
    } catch {
      // Removed meanwhile.
    }
  }
  return pruned;
}
