/**
 * The directory of a snapshot push (rsync `snapshot: true`): made here, exclusively, before rsync
 * starts, so that of two pushes naming it only one proceeds and a directory that exists (a
 * planted "tomorrow") is never written into. rsync then fills a directory nobody else wrote.
 *
 * A push that fails leaves a partial snapshot; it is moved aside under a dot name (which no
 * snapshot push may name) so the owner's retry can make the directory again and the failed
 * attempt stays for inspection. Nothing is deleted.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Makes the snapshot directory; null when made, else why not (EEXIST: it exists). */
export function claimSnapshot(dir: string): string | null {
  try {
    // 0700 until rsync sets the mode the client sent for "./".
    mkdirSync(dir, { mode: 0o700 });
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EEXIST' ? `${dir} exists: a snapshot is written once` : `${dir}: ${code ?? (error as Error).message}`;
  }
}

/** Moves a failed snapshot aside; returns its new path, or null if it could not be moved. */
export function setAsideSnapshot(dir: string, session: string): string | null {
  const aside = join(dirname(dir), `.${basename(dir)}.failed-${session}`);
  try {
    renameSync(dir, aside);
    return aside;
  } catch {
    return null;
  }
}
