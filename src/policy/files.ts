/**
 * The policy's files: which they are (a file, or every *.yaml / *.yml file of a directory), whether
 * they may be believed, and reading them.
 *
 * Like sshd's StrictModes: a policy that someone other than root or the account itself could
 * have written is not a policy, so each file, the directory, and every directory above them
 * must be owned by root or the running user and not writable by group or others. Sticky
 * directories above (like /tmp) are accepted: others cannot replace entries they do not own.
 * Symlinks among the policy files are refused.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { PolicyError } from '../values/policy-error.js';
import { untrustedWriter } from '../trust.js';
import { untrustedParent } from './applied/place.js';

export interface PolicyFileStat {
  path: string;
  stats: BigIntStats;
}

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

/** Why the policy cannot be read at all: one error, naming the path as given. */
function fail(file: string, message: string): { ok: false; errors: PolicyError[] } {
  return { ok: false, errors: [{ file, line: 0, key: '', message }] };
}

/** The policy's files, trusted and in load order, with their stats; or why not. */
export function collectPolicyFiles(
  path: string,
  uid: number,
): { ok: true; realPath: string; files: PolicyFileStat[] } | { ok: false; errors: PolicyError[] } {
  let realPath: string;
  let stats: Stats;
  try {
    realPath = realpathSync(path);
    stats = statSync(realPath);
    // Every directory above the policy: a writable one lets others replace what lies below.
    const why = untrustedParent(realPath, uid);
    if (why) return fail(path, why);
  } catch (error) {
    return fail(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let names: string[];
  if (stats.isDirectory()) {
    const why = untrustedWriter(stats, uid, false);
    if (why) return fail(path, `policy directory is ${why}`);
    names = readdirSync(realPath)
      .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('.'))
      .sort()
      .map((name) => join(realPath, name));
    if (names.length === 0) return fail(path, 'no *.yaml or *.yml files in this directory');
  } else {
    names = [realPath];
  }
  const errors: PolicyError[] = [];
  const files: PolicyFileStat[] = [];
  for (const file of names) {
    let fileStats: BigIntStats;
    try {
      fileStats = lstatSync(file, { bigint: true });
    } catch (error) {
      errors.push({ file, line: 0, key: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code}` });
      continue;
    }
    const why = fileStats.isSymbolicLink()
      ? 'is a symbolic link: name the real file'
      : !fileStats.isFile()
        ? 'is not a regular file'
        : untrustedWriter(fileStats, uid, false);
    if (why) errors.push({ file, line: 0, key: '', message: why.startsWith('is ') ? why : `policy file is ${why}` });
    else files.push({ path: file, stats: fileStats });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, realPath, files };
}

/** Reads a policy file through O_NOFOLLOW; `unchanged` tells whether it is still the file that was stat'ed. */
export function readPolicyFile(
  file: string,
  before: BigIntStats,
): { ok: true; text: string; unchanged: boolean } | { ok: false; message: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ELOOP' ? 'is a symbolic link: name the real file' : `cannot open: ${code}` };
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile()) return { ok: false, message: 'is not a regular file' };
    if (stats.size > MAX_POLICY_FILE_BYTES) return { ok: false, message: `larger than ${MAX_POLICY_FILE_BYTES} bytes` };
    const size = Number(stats.size);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    const after = fstatSync(fd, { bigint: true });
    const unchanged =
      stats.ino === before.ino &&
      stats.dev === before.dev &&
      stats.ctimeNs === before.ctimeNs &&
      after.ctimeNs === before.ctimeNs &&
      after.size === before.size;
    return { ok: true, text: buffer.subarray(0, read).toString('utf8'), unchanged };
  } finally {
    closeSync(fd);
  }
}
