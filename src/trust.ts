/**
 * Who may have written a file or directory, the StrictModes way: what root or the running user
 * owns, and no group or other can write, is as trusted as ssh-dispatch itself. Used for policy
 * files, the compiled policy cache and the compile cache: each can change what ssh-dispatch does.
 */
export interface OwnerAndMode {
  uid: number | bigint;
  mode: number | bigint;
  isDirectory(): boolean;
}

/**
 * Why `stats` could have been written by someone other than root or `uid`, or null.
 * `allowSticky`: a sticky directory writable by others (like /tmp) is accepted above a policy,
 * since others cannot replace entries they do not own.
 */
export function untrustedWriter(stats: OwnerAndMode, uid: number, allowSticky = false): string | null {
  const owner = Number(stats.uid);
  const mode = Number(stats.mode);
  if (owner !== 0 && owner !== uid) return `owned by uid ${owner}, not by root or the running user (uid ${uid})`;
  if ((mode & 0o022) !== 0 && !(allowSticky && stats.isDirectory() && (mode & 0o1000) !== 0)) {
    return `writable by group or others (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w it`;
  }
  return null;
}

export function runningUid(): number {
  return process.getuid?.() ?? 0;
}
