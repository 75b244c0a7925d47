/**
 * Reading the applied versions (place.ts has the layout): which one is served, what each was,
 * and the files it was applied from. Connections read `current` and the sources trusted, like
 * the compiled cache; `history` and `check` read the rest.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { array, integer, literal, nullable, object, string, type Decoded } from '../../values/decode.js';
import { deserialise } from '../cache/deserialise.js';
import { readTrusted, trustedDirectory } from '../cache/trusted.js';
import type { CacheAccess } from '../cache/write.js';
import { appliedPlace, versionDir, type AppliedPlace } from './place.js';

export const CURRENT = 'current';
export const VERSION_FILE = 'version.json';
export const SOURCES = 'src';
export const COMPILED = 'compiled';
/** The highest version number a reader believes (nine digits): an apply past it is refused. */
export const LAST_VERSION = 999_999_999;

/** What made a version: an apply of the files, a rollback to an earlier version's files, or the files adopted at an upgrade. */
export const VERSION_ACTIONS = ['apply', 'rollback', 'adopt'] as const;

export interface VersionMeta {
  version: number;
  /** ISO 8601, UTC. */
  time: string;
  /** Who ran it: the account, and the one sudo names. */
  who: string;
  action: (typeof VERSION_ACTIONS)[number];
  /** A rollback's target; the version whose files these are. */
  restores: number | null;
  /** sha256 of the files (each path and content), as `check` and `history` compare them. */
  digest: string;
  /** The policy files in load order; src/<i> holds the i-th. */
  files: { path: string; sha256: string }[];
  /** What changed from the version served before, one line each (diff.ts). */
  diff: string[];
  /** The message given with --message, or null. */
  message: string | null;
  /** Who may read the version's files: as the policy files were (policy/cache/write.ts cacheAccess). */
  access: CacheAccess;
}

const versionMeta = object<VersionMeta>({
  version: integer,
  time: string,
  who: string,
  action: literal(...VERSION_ACTIONS),
  restores: nullable(integer),
  digest: string,
  files: array(object<{ path: string; sha256: string }>({ path: string, sha256: string })),
  diff: array(string),
  message: nullable(string),
  access: object<CacheAccess>({ fileMode: integer, dirMode: integer, gid: nullable(integer) }),
});

export const readVersionMeta = (text: string): Decoded<VersionMeta> => deserialise(text, versionMeta, VERSION_FILE);

/** The served version's number, trusted; null when none was applied (or any doubt). */
export function currentVersion(place: AppliedPlace, uid: number): number | null {
  if (!trustedDirectory(place.dir, uid)) return null;
  const text = readTrusted(join(place.dir, CURRENT), uid)?.trim() ?? '';
  return /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : null;
}

/** One version's record, trusted; null on any doubt. */
export function readVersion(place: AppliedPlace, version: number, uid: number): VersionMeta | null {
  const dir = versionDir(place, version);
  if (!trustedDirectory(join(place.dir, 'v'), uid) || !trustedDirectory(dir, uid)) return null;
  const text = readTrusted(join(dir, VERSION_FILE), uid);
  const meta = text === null ? null : readVersionMeta(text);
  return meta?.ok && meta.value.version === version ? meta.value : null;
}

/** The numbers of every version there is, oldest first. */
export function versionNumbers(place: AppliedPlace): number[] {
  try {
    return readdirSync(join(place.dir, 'v'))
      .filter((name) => /^[1-9][0-9]{0,8}$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** The files a version was applied from, labelled with the paths they had, trusted; null on any doubt. */
export function versionSources(place: AppliedPlace, meta: VersionMeta, uid: number): { path: string; text: string }[] | null {
  const dir = join(versionDir(place, meta.version), SOURCES);
  if (!trustedDirectory(dir, uid)) return null;
  const sources: { path: string; text: string }[] = [];
  for (const [index, file] of meta.files.entries()) {
    const text = readTrusted(join(dir, String(index)), uid);
    if (text === null) return null;
    sources.push({ path: file.path, text });
  }
  return sources;
}

/** The policy's applied state: its place and the served version's record (null: none applied); or why it cannot be read. */
export function servedRecord(path: string, uid: number): { place: AppliedPlace; served: VersionMeta | null } | string {
  const place = appliedPlace(path, uid);
  if (typeof place === 'string') return place;
  const version = currentVersion(place, uid);
  if (version === null) return { place, served: null };
  const served = readVersion(place, version, uid);
  return served === null ? `applied version ${version} is unreadable or not trusted` : { place, served };
}
