/**
 * The receiver's checks on disk, before and after the data: a trusted directory, a free name, a
 * flood of uploads, stale temp files of receivers that are gone; and publishing the finished
 * file under its name with link(2), which never replaces one.
 */
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ReceiveOutcomeName } from '../../audit/record.js';
import type { ReceivePlan } from '../../rules/plan.js';
import { uniqueName } from '../../rules/receive/match.js';
import { formatDuration } from '../../rules/receive/retention.js';
import { runningUid, untrustedWriter } from '../../trust.js';
import { ruleFiles, storedWithin } from '../retention.js';

const STALE_TEMP_MS = 24 * 3600 * 1000;

/** Why an upload stopped, as its end record says it. */
export class Abort extends Error {
  constructor(
    readonly outcome: ReceiveOutcomeName,
    message: string,
    /** How much had arrived when it stopped. */
    readonly bytes = 0,
  ) {
    super(message);
  }
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Why uploads must not go into `dir`, or null. Whoever else can write the directory (its owner,
 * if not root or this account; its group; others) can plant a symlink or a name the upload is
 * then taken for, so the directory must be as trusted as the policy (trust.ts).
 */
export function uploadDirectoryProblem(dir: string, uid = runningUid()): string | null {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    return `the upload directory ${dir} is missing (${(error as NodeJS.ErrnoException).code})`;
  }
  if (!stats.isDirectory()) return `the upload directory ${dir} is not a directory (or is a symlink)`;
  const why = untrustedWriter(stats, uid);
  return why ? `the upload directory ${dir} is ${why}` : null;
}

export function checkDirectory(dir: string): void {
  const problem = uploadDirectoryProblem(dir);
  if (problem) throw new Abort('error', problem);
}

/** A name the client chose must be free: it is refused, never suffixed (a suffix is the template's alone). */
export function checkNameFree(dir: string, name: string): void {
  try {
    lstatSync(join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  throw new Abort('name-taken', `${name} is taken (a chosen name is never replaced nor suffixed; choose another)`);
}

/** Refuses an upload past max-uploads within the window; `plus` counts one already published. */
export function checkFlood(plan: ReceivePlan, plus: number): void {
  const { maxUploads, windowMs } = plan.retention;
  if (maxUploads === null) return;
  const within = storedWithin(ruleFiles(plan.dir, plan.retention), windowMs, Date.now());
  if (within - plus >= maxUploads) {
    throw new Abort(
      'flood',
      `${within - plus} uploads of this rule are younger than keep-within (${formatDuration(windowMs)}), max-uploads is ${maxUploads}: refused until one ages out or is removed`,
    );
  }
}

/** Our own file of inode `ino` under `path`: removed only if the name still holds that inode. */
export function unlinkOurs(path: string, ino: number | bigint): boolean {
  try {
    if (lstatSync(path).ino !== ino) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Temp files of receivers that are gone (killed with SIGKILL, machine crash). */
export function removeStaleTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = /^\.receive-([0-9]+)-[0-9a-f]+\.part$/.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    try {
      let alive = true;
      try {
        process.kill(Number(match[1]), 0);
      } catch (error) {
        alive = (error as NodeJS.ErrnoException).code !== 'ESRCH';
      }
      if (!alive || Date.now() - lstatSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/**
 * Links the temp file to the first free name (never replacing one), removes the temp name. A
 * chosen name has no second candidate: taken is refused. Only the inode this session wrote is
 * published: a temp name that holds another one by now is not ours to give a name.
 */
export function publish(temp: string, ino: number, dir: string, name: string, chosen: boolean): string {
  if (lstatSync(temp).ino !== ino) throw new Abort('error', `${temp} is no longer the file this upload wrote`);
  for (let n = 0; n < 10_000; n++) {
    const candidate = uniqueName(name, n);
    try {
      linkSync(temp, join(dir, candidate));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && chosen)
        throw new Abort('name-taken', `${name} was taken while it arrived (a chosen name is never replaced nor suffixed)`);
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Abort('error', `cannot publish ${candidate}: ${(error as NodeJS.ErrnoException).code}`);
    }
    unlinkSync(temp);
    fsyncDirectory(dir);
    return candidate;
  }
  throw new Abort('error', `no free name for ${name}`);
}
