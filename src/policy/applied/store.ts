/**
 * Writing applied versions (place.ts has the layout): a new version written whole into a temp
 * directory and renamed into place, then compiled, then made current by renaming one small file.
 * A reader sees the old version or the new one, never a part; an apply that fails half way
 * leaves the served version served.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compiledSignature, writeCachedPolicy } from '../cache.js';
import { makeAccessDir, prepareRoot, writeAccessFile } from '../cache/write.js';
import type { PolicySource } from '../compile.js';
import type { Policy } from '../schema.js';
import { lockApplied } from './lock.js';
import { narrowOlder } from './narrow.js';
import { versionDir, type AppliedPlace } from './place.js';
import { COMPILED, CURRENT, LAST_VERSION, SOURCES, VERSION_FILE, versionNumbers, type VersionMeta } from './versions.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The digest of a policy's files: each path and content, in load order. */
export function policyDigest(sources: readonly PolicySource[]): { digest: string; files: VersionMeta['files'] } {
  const files = sources.map((source) => ({ path: source.path, sha256: sha256(source.text) }));
  return { digest: `sha256:${sha256(files.map((f) => `${f.path}\0${f.sha256}\n`).join(''))}`, files };
}

/** The directories from the policy's down to `place.dir/v`, searchable by the accounts that serve it; or why not. */
function prepare(place: AppliedPlace): string | null {
  return prepareRoot(dirname(place.dir)) ?? prepareRoot(place.dir) ?? prepareRoot(join(place.dir, 'v'));
}

/** Compiles `policy` as `meta`'s version for this build, replacing what other builds compiled of it; or why not. */
export function compileVersion(place: AppliedPlace, meta: VersionMeta, policy: Policy): string | null {
  const root = join(versionDir(place, meta.version), COMPILED);
  return writeCachedPolicy(root, compiledSignature(place.realPath, meta.version, meta.digest), policy, meta.access);
}

/** Makes `version` the served one. */
export function setCurrent(place: AppliedPlace, version: number): string | null {
  const temp = join(place.dir, `.tmp-${process.pid}-current`);
  try {
    writeFileSync(temp, `${version}\n`, { mode: 0o644 });
    // Readable by every account whose keys serve it, whatever root's umask.
    chmodSync(temp, 0o644);
    renameSync(temp, join(place.dir, CURRENT));
    return null;
  } catch (error) {
    rmSync(temp, { force: true });
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/** A new version (its number is the next free one): written, compiled, and made current, one apply at a time (lock.ts). Its record, or why not (nothing served changed). */
export function recordVersion(
  place: AppliedPlace,
  sources: readonly PolicySource[],
  policy: Policy,
  meta: Omit<VersionMeta, 'version' | 'digest' | 'files'>,
): VersionMeta | string {
  const why = prepare(place);
  if (why) return `cannot write ${place.dir}: ${why}`;
  const unlock = lockApplied(place);
  if (typeof unlock === 'string') return unlock;
  try {
    return writeVersion(place, sources, policy, meta);
  } finally {
    unlock();
  }
}

/** recordVersion under the lock; then what other versions compiled goes (under it too: not what a later apply serves). */
function writeVersion(
  place: AppliedPlace,
  sources: readonly PolicySource[],
  policy: Policy,
  meta: Omit<VersionMeta, 'version' | 'digest' | 'files'>,
): VersionMeta | string {
  const numbers = versionNumbers(place);
  const version = (numbers[numbers.length - 1] ?? 0) + 1;
  // Past it, `current` would name a version no connection believes: every key denied.
  if (version > LAST_VERSION) return `no version number is left after ${LAST_VERSION} in ${join(place.dir, 'v')}`;
  const record: VersionMeta = { version, ...policyDigest(sources), ...meta };
  const temp = join(place.dir, 'v', `.tmp-${process.pid}`);
  try {
    rmSync(temp, { recursive: true, force: true });
    makeAccessDir(temp, meta.access);
    makeAccessDir(join(temp, SOURCES), meta.access);
    for (const [index, source] of sources.entries()) writeAccessFile(join(temp, SOURCES, String(index)), source.text, meta.access);
    writeAccessFile(join(temp, VERSION_FILE), `${JSON.stringify(record, null, 2)}\n`, meta.access);
    // A second apply at the same moment took this number first: rename refuses a non-empty directory.
    mkdirSync(versionDir(place, version), { mode: 0o700 });
    renameSync(temp, versionDir(place, version));
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EEXIST'
      ? `another apply wrote version ${version} at the same time: run it again`
      : `cannot write ${place.dir}: ${code ?? (error as Error).message}`;
  }
  const failure = compileVersion(place, record, policy) ?? setCurrent(place, version);
  if (failure !== null) return `version ${version} written but not served: ${failure}`;
  pruneCompiled(place, version);
  narrowOlder(place, record);
  return record;
}

/** Housekeeping: what other versions compiled goes (a rollback compiles again from the sources, which stay). */
function pruneCompiled(place: AppliedPlace, served: number): void {
  for (const version of versionNumbers(place)) {
    if (version === served) continue;
    try {
      rmSync(join(versionDir(place, version), COMPILED), { recursive: true, force: true });
    } catch {
      // Housekeeping is never a reason to fail.
    }
  }
}
