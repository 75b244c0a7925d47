/** What `check` says about an sftp rule (the write root's reach is checked for every kind, in policy/lint.ts). */
import type { SftpRule } from './rule.js';

/** Every sftp rule serves every subsystem request, so the first takes them all; scp directions can still reach a later one. */
export function sftpCovers(earlier: SftpRule, later: SftpRule): boolean {
  return earlier.access === 'read-write' || earlier.access === later.access;
}

/** Where a client's data can land. */
export function sftpWritesTo(rule: SftpRule): string[] {
  return rule.access === 'read' ? [] : [rule.root];
}
