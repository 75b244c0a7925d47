/**
 * Reads a policy file, or every *.yaml / *.yml file of a directory, and merges them.
 *
 * Like sshd's StrictModes: a policy that someone other than root or the account itself could
 * have written is not a policy, so each file, the directory, and every directory above them
 * must be owned by root or the running user and not writable by group or others. Sticky
 * directories above (like /tmp) are accepted: others cannot replace entries they do not own.
 * Ownership and mode are checked on the open descriptor of what is then read, so a file
 * swapped between check and read is not what gets checked.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { parsePolicyText, type PolicyError, type PolicyFragment } from './parse.js';
import { DEFAULT_AUDIT_FILE, type Identity, type Policy, type Where } from './schema.js';

export type LoadedPolicy = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

function fail(file: string, message: string): LoadedPolicy {
  return { ok: false, errors: [{ file, line: 0, key: '', message }] };
}

/** Why `stats` could have been written by someone we do not trust, or null. */
function untrustedWriter(stats: Stats, uid: number, allowSticky: boolean): string | null {
  if (stats.uid !== 0 && stats.uid !== uid) return `owned by uid ${stats.uid}, not by root or the running user (uid ${uid})`;
  const writableByOthers = (stats.mode & 0o022) !== 0;
  if (writableByOthers && !(allowSticky && stats.isDirectory() && (stats.mode & 0o1000) !== 0)) {
    return `writable by group or others (mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w it`;
  }
  return null;
}

export function loadPolicy(path: string, uid: number = process.getuid?.() ?? 0): LoadedPolicy {
  let realPath: string;
  let stats: Stats;
  try {
    realPath = realpathSync(path);
    stats = statSync(realPath);
    // Every directory above the policy: a writable one lets others replace what lies below.
    for (let dir = dirname(realPath); ; dir = dirname(dir)) {
      const why = untrustedWriter(statSync(dir), uid, true);
      if (why) return fail(path, `directory ${dir} is ${why}`);
      if (dir === '/') break;
    }
  } catch (error) {
    return fail(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }

  let files: string[];
  if (stats.isDirectory()) {
    const why = untrustedWriter(stats, uid, false);
    if (why) return fail(path, `policy directory is ${why}`);
    files = readdirSync(realPath)
      .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('.'))
      .sort()
      .map((name) => join(realPath, name));
    if (files.length === 0) return fail(path, 'no *.yaml or *.yml files in this directory');
  } else {
    files = [realPath];
  }

  const fragments: PolicyFragment[] = [];
  const errors: PolicyError[] = [];
  for (const file of files) {
    const text = readTrustedFile(file, uid);
    if (!text.ok) {
      errors.push({ file, line: 0, key: '', message: text.message });
      continue;
    }
    const parsed = parsePolicyText(file, text.text);
    if (parsed.ok) fragments.push(parsed.fragment);
    else errors.push(...parsed.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  return mergeFragments(fragments);
}

function readTrustedFile(file: string, uid: number): { ok: true; text: string } | { ok: false; message: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ELOOP' ? 'is a symbolic link: name the real file' : `cannot open: ${code}` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { ok: false, message: 'is not a regular file' };
    const why = untrustedWriter(stats, uid, false);
    if (why) return { ok: false, message: `policy file is ${why}` };
    if (stats.size > MAX_POLICY_FILE_BYTES) return { ok: false, message: `larger than ${MAX_POLICY_FILE_BYTES} bytes` };
    const buffer = Buffer.alloc(stats.size);
    let read = 0;
    while (read < stats.size) {
      const n = readSync(fd, buffer, read, stats.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { ok: true, text: buffer.subarray(0, read).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

function mergeFragments(fragments: PolicyFragment[]): LoadedPolicy {
  const errors: PolicyError[] = [];
  const identities = new Map<string, Identity>();
  let audit: { file: string; where: Where } | null = null;
  for (const fragment of fragments) {
    if (fragment.audit) {
      if (audit) {
        errors.push({ ...fragment.audit.where, key: 'audit', message: `audit is already set in ${audit.where.file}:${audit.where.line} (at most one file may set it)` });
      } else {
        audit = { file: fragment.audit.settings.file, where: fragment.audit.where };
      }
    }
    for (const identity of fragment.identities) {
      const earlier = identities.get(identity.name);
      if (earlier) {
        errors.push({ ...identity.where, key: `identities.${identity.name}`, message: `duplicate identity (first in ${earlier.where.file}:${earlier.where.line})` });
      } else {
        identities.set(identity.name, identity);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policy: { files: fragments.map((f) => f.file), audit: { file: audit?.file ?? DEFAULT_AUDIT_FILE }, identities } };
}
