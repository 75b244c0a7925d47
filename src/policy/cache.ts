/**
 * The compiled policy cache: what a connection reads instead of parsing YAML.
 *
 * sshd starts ssh-dispatch for every connection, and loading the YAML parser and parsing costs
 * more than everything else it does. So a successful load is written, compiled, beside the
 * policy, and the next connection reads one small JSON file: its own identity's.
 *
 *   <policy dir>/.ssh-dispatch-cache/<key>/meta.json          audit settings, files
 *   <policy dir>/.ssh-dispatch-cache/<key>/id/<identity>.json  one identity, compiled
 *   <policy dir>/.ssh-dispatch-cache/<key>/logins/<account>/... who may log into that account,
 *                                                             by key and by certificate (loginFiles)
 *
 * <key> hashes the signature: the build of ssh-dispatch and, for every policy file, its path,
 * device, inode, size, mtime, ctime, mode and owner (kept whole in meta.json and compared). Any edit, rename, chmod or new file gives another key, so a stale cache
 * is never found and nothing has to invalidate it; an upgrade of ssh-dispatch gives another key
 * too. ctime cannot be set by users, so content cannot change under an unchanged key.
 *
 * The cache is trusted exactly like the policy (act of writing it needs the same rights as
 * writing the policy directory): each directory and file must be owned by root or the running
 * user, not writable by group or others, and no symlinks are followed. It is written to a temp
 * directory and renamed into place, so a reader sees a whole cache or none. Where the running
 * user cannot write the policy directory, no cache is written and every load parses the YAML;
 * `ssh-dispatch check`, run by root, writes it for them.
 */
import { chmodSync, chownSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Identity, Policy } from './schema.js';
import { untrustedWriter } from '../trust.js';
import { loginIndex, type Login, type LoginIndex } from './logins.js';

/** Replaced by the build with a hash of the sources, so a new build never reads an old cache. */
declare const SSH_DISPATCH_BUILD_ID: string | undefined;
const BUILD_ID = typeof SSH_DISPATCH_BUILD_ID === 'string' ? SSH_DISPATCH_BUILD_ID : 'unbundled';

export const CACHE_DIR_NAME = '.ssh-dispatch-cache';
const MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024;

export interface PolicyFileStat {
  path: string;
  stats: BigIntStats;
}

/** Everything the compiled form depends on: the build and each file's identity and times. */
export function cacheSignature(policyPath: string, files: readonly PolicyFileStat[]): string {
  let signature = `${BUILD_ID}\n${policyPath}\n`;
  for (const { path, stats } of files) {
    signature += `${path}\0${stats.dev}\0${stats.ino}\0${stats.size}\0${stats.mtimeNs}\0${stats.ctimeNs}\0${stats.mode}\0${stats.uid}\n`;
  }
  return signature;
}

/**
 * The cache directory's name: a fast 64-bit hash of the signature (node:crypto would cost a few
 * milliseconds of every start). Not relied on for correctness: meta.json holds the signature
 * itself, and a cache is used only when it is equal.
 */
export function cacheKey(signature: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < signature.length; i++) {
    const c = signature.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

// Compiled identities hold Uint8Arrays (address ranges, wherever they occur); JSON does not.
const BYTES = '$bytes';

function identityToJson(identity: Identity): string {
  return JSON.stringify(identity, (_key, value: unknown) => (value instanceof Uint8Array ? { [BYTES]: Array.from(value) } : value));
}

function identityFromJson(text: string): Identity {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && BYTES in value) return Uint8Array.from((value as Record<string, number[]>)[BYTES]!);
    return value;
  }) as Identity;
}


/** Reads a small file without following symlinks, if it is regular and trusted; else null. */
function readTrusted(path: string, uid: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || untrustedWriter(stats, uid) !== null || stats.size > MAX_CACHE_FILE_BYTES) return null;
    const buffer = Buffer.alloc(stats.size);
    let read = 0;
    while (read < stats.size) {
      const n = readSync(fd, buffer, read, stats.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function trustedDirectory(path: string, uid: number): boolean {
  try {
    const stats = lstatSync(path);
    return stats.isDirectory() && untrustedWriter(stats, uid) === null;
  } catch {
    return false;
  }
}

/** An approved entry, by its key; it must have been compiled from the policy at `policyPath`. */
export interface ApprovedEntry {
  key: string;
  policyPath: string;
}

/** The policy path a signature was made for (cacheSignature's second line), or null. */
function policyPathOf(signature: unknown): string | null {
  return typeof signature === 'string' ? (signature.split('\n')[1] ?? null) : null;
}

/**
 * Whether an entry's signature is the one wanted: equal; or, for an approved entry, of the same
 * policy path and of this build (an approval belongs to the build that gave it: another may
 * read the entry differently, so after an upgrade `check` approves again).
 */
function signatureMatches(found: string, wanted: string | ApprovedEntry): boolean {
  if (typeof wanted === 'string') return found === wanted;
  return typeof found === 'string' && found.split('\n')[0] === BUILD_ID && policyPathOf(found) === wanted.policyPath;
}

/**
 * The policy as far as `identity` needs it, from the cache; null on any miss or doubt (the
 * caller then parses the YAML). An identity absent from a complete cache is absent from the policy.
 */
interface EntryMeta {
  signature: string;
  files: string[];
  audit: Policy['audit'];
  identities: string[];
}

/**
 * A cache entry that is the one wanted, trusted: its directory and its meta.json, whose
 * signature matches; null on any miss or doubt. (JSON.parse may throw: callers catch.)
 */
function openEntry(cacheRoot: string, signature: string | ApprovedEntry, uid: number): { dir: string; meta: EntryMeta } | null {
  const dir = join(cacheRoot, typeof signature === 'string' ? cacheKey(signature) : signature.key);
  if (!trustedDirectory(cacheRoot, uid) || !trustedDirectory(dir, uid)) return null;
  const metaText = readTrusted(join(dir, 'meta.json'), uid);
  if (metaText === null) return null;
  const meta = JSON.parse(metaText) as EntryMeta;
  return signatureMatches(meta.signature, signature) ? { dir, meta } : null;
}

export function readCachedPolicy(cacheRoot: string, signature: string | ApprovedEntry, identity: string, uid: number): Policy | null {
  try {
    const entry = openEntry(cacheRoot, signature, uid);
    if (entry === null) return null;
    const { dir, meta } = entry;
    const identities = new Map<string, Identity>();
    if (meta.identities.includes(identity)) {
      // Listed but unreadable or untrusted: a miss, never "no such identity".
      if (!trustedDirectory(join(dir, 'id'), uid)) return null;
      const shard = readTrusted(join(dir, 'id', `${identity}.json`), uid);
      if (shard === null) return null;
      identities.set(identity, identityFromJson(shard));
    }
    return { files: meta.files, audit: meta.audit, identities };
  } catch {
    return null;
  }
}

const LOGINS = 'logins';

/** What a login command asks: the logins of one key, or the certificate logins, of one account. */
export type LoginLookup = { account: string; fingerprint: string } | { account: string; principals: true };

/** A fingerprint as a file name: its base64 made URL-safe (no / in it). */
function keyFileName(fingerprint: string): string {
  return `${fingerprint.replace(/^SHA256:/, '').replaceAll('+', '-').replaceAll('/', '_')}.json`;
}

/**
 * The compiled logins (logins.ts) as files, so that a key offered reads only what it needs
 * whatever the fleet's size (a thousand hosts' keys usually log into one backup account):
 *   logins/<account>/keys/<fingerprint>.json   the identities that key may log in as
 *   logins/<account>/principals.json           the identities certificates may log in as
 */
function loginFiles(index: LoginIndex): Map<string, Login[]> {
  const files = new Map<string, Login[]>();
  for (const [account, logins] of Object.entries(index)) {
    for (const login of logins) {
      const names = login.principals !== null ? [join(account, 'principals.json')] : (login.keys ?? []).map((key) => join(account, 'keys', keyFileName(key)));
      for (const name of new Set(names)) files.set(name, [...(files.get(name) ?? []), login]);
    }
  }
  return files;
}

/**
 * The logins a lookup needs, from the cache, trusted like any cache read: a LoginIndex holding
 * that account's matching logins only. A file that is not there means none; null on any miss
 * or doubt.
 */
export function readCachedLogins(cacheRoot: string, signature: string | ApprovedEntry, uid: number, lookup: LoginLookup): LoginIndex | null {
  try {
    const entry = openEntry(cacheRoot, signature, uid);
    if (entry === null || !trustedDirectory(join(entry.dir, LOGINS), uid)) return null;
    const { dir } = entry;
    // A null-prototype object: an account named __proto__ must be a name, not Object.prototype.
    const index = Object.create(null) as LoginIndex;
    const accountDir = join(dir, LOGINS, lookup.account);
    if (!exists(accountDir)) return index;
    const parent = 'principals' in lookup ? accountDir : join(accountDir, 'keys');
    if (!trustedDirectory(accountDir, uid) || (exists(parent) && !trustedDirectory(parent, uid))) return null;
    const file = 'principals' in lookup ? join(accountDir, 'principals.json') : join(parent, keyFileName(lookup.fingerprint));
    const text = readTrusted(file, uid);
    if (text !== null) index[lookup.account] = JSON.parse(text) as Login[];
    else if (exists(file)) return null;
    return index;
  } catch {
    return null;
  }
}

/** Whether a path is there; only ENOENT says no (EACCES is a doubt, and doubts are misses). */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The audit settings of the newest compiled cache of this policy, whatever its key: the last
 * version of it that loaded. When the policy no longer loads (an edit broke it), its refusals still go
 * to the log and the syslog collector that policy named, not to the default log alone (found by
 * an operator: the collector never heard of the broken policy). Trusted like any cache read.
 */
export function lastGoodAudit(cacheRoot: string, uid: number, policyPath: string): Policy['audit'] | null {
  if (!trustedDirectory(cacheRoot, uid)) return null;
  let newest: { mtime: number; audit: Policy['audit'] } | null = null;
  let entries: string[];
  try {
    entries = readdirSync(cacheRoot);
  } catch {
    return null;
  }
  for (const entry of entries) {
    const dir = join(cacheRoot, entry);
    if (!/^[0-9a-f]+$/.test(entry) || !trustedDirectory(dir, uid)) continue;
    const metaText = readTrusted(join(dir, 'meta.json'), uid);
    if (metaText === null) continue;
    try {
      const meta = JSON.parse(metaText) as { audit?: Policy['audit']; signature?: unknown };
      // Another policy file's, beside this one in the same directory: not this policy's settings.
      if (policyPathOf(meta.signature) !== policyPath) continue;
      const mtime = lstatSync(join(dir, 'meta.json')).mtimeMs;
      if (meta.audit && typeof meta.audit.file === 'string' && (newest === null || mtime > newest.mtime)) newest = { mtime, audit: meta.audit };
    } catch {
      // Not a cache entry this build can read.
    }
  }
  return newest?.audit ?? null;
}

/**
 * The approved policy (`--approved` on a command= line): `check` names the cache entry of a
 * policy it passed in a pointer file of that policy's own (`approved.<hash of its real path>`:
 * two policy files side by side share this directory, and one's approval must not serve the
 * other; found in review), and connections with --approved read that entry whatever the files
 * say now, so an edit takes effect only once `check` passes on it (an apply step). Housekeeping
 * never removes an approved entry.
 */
const APPROVED = 'approved';

function approvedName(policyPath: string): string {
  return `${APPROVED}.${cacheKey(policyPath)}`;
}

export function approvedKey(cacheRoot: string, policyPath: string, uid?: number): string | null {
  const path = join(cacheRoot, approvedName(policyPath));
  const text = uid === undefined ? readLoose(path) : readTrusted(path, uid);
  const key = text?.trim() ?? '';
  return /^[0-9a-f]{1,64}$/.test(key) ? key : null;
}

function readLoose(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Names `signature`'s cache entry as the approved policy at `policyPath` (written whole, by rename); 'unchanged' when it already was, or why not. */
export function approve(cacheRoot: string, signature: string, policyPath: string): 'approved' | 'unchanged' | string {
  const key = cacheKey(signature);
  if (approvedKey(cacheRoot, policyPath) === key) return 'unchanged';
  const temp = join(cacheRoot, `.tmp-${process.pid}-approved`);
  try {
    writeFileSync(temp, `${key}\n`, { mode: 0o644 });
    // Readable by every account that serves --approved keys, whatever root's umask.
    chmodSync(temp, 0o644);
    renameSync(temp, join(cacheRoot, approvedName(policyPath)));
    return 'approved';
  } catch (error) {
    rmSync(temp, { force: true });
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/** The keys every approved pointer names: housekeeping keeps their entries. */
function approvedKeys(cacheRoot: string): Set<string> {
  const keys = new Set<string>();
  for (const name of readdirSync(cacheRoot)) {
    if (!name.startsWith(`${APPROVED}.`)) continue;
    const key = readLoose(join(cacheRoot, name))?.trim() ?? '';
    if (/^[0-9a-f]{1,64}$/.test(key)) keys.add(key);
  }
  return keys;
}

/**
 * Who may read a cache entry: the cache is the policy compiled, so nobody may read it who may
 * not read every policy file (found in review: a 0600 policy was published 0644). Others, when
 * every file is readable by others; else the one group every file shares and lets read (the
 * commands' account of docs/fleet.md); else root and the owner alone.
 */
export interface CacheAccess {
  fileMode: number;
  dirMode: number;
  gid: number | null;
}

export const PUBLIC_CACHE: CacheAccess = { fileMode: 0o644, dirMode: 0o755, gid: null };

export function cacheAccess(files: readonly PolicyFileStat[]): CacheAccess {
  const modes = files.map((file) => Number(file.stats.mode));
  const gids = new Set(files.map((file) => Number(file.stats.gid)));
  if (modes.every((mode) => (mode & 0o004) !== 0)) return PUBLIC_CACHE;
  if (gids.size === 1 && modes.every((mode) => (mode & 0o040) !== 0)) return { fileMode: 0o640, dirMode: 0o750, gid: [...gids][0]! };
  return { fileMode: 0o600, dirMode: 0o700, gid: null };
}

/** Gives a path written for the cache its group; where that is not allowed, nobody but the owner reads it. */
function restrict(path: string, access: CacheAccess, directory: boolean): void {
  if (access.gid === null) return;
  try {
    chownSync(path, -1, access.gid);
  } catch {
    chmodSync(path, directory ? 0o700 : 0o600);
  }
}

/** Writes the cache for `policy` under `key`, best effort: returns why it did not, or null. */
export function writeCachedPolicy(cacheRoot: string, signature: string, policy: Policy, access: CacheAccess = PUBLIC_CACHE): string | null {
  const key = cacheKey(signature);
  const final = join(cacheRoot, key);
  const temp = join(cacheRoot, `.tmp-${process.pid}-${key}`);
  try {
    mkdirSync(cacheRoot, { mode: 0o755 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return (error as NodeJS.ErrnoException).code ?? 'mkdir failed';
  }
  // Searchable by every account that reads an entry, whatever the umask of whoever made it (a
  // hardened 027 made it root's alone, and every other account's connections were denied):
  // the entries below keep their own modes, and the root lists only their hashes.
  try {
    const stats = lstatSync(cacheRoot);
    if (stats.isDirectory() && stats.uid === (process.getuid?.() ?? 0) && (stats.mode & 0o777) !== 0o755) chmodSync(cacheRoot, 0o755);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'stat failed';
  }
  try {
    rmSync(temp, { recursive: true, force: true });
    // Modes as given, whatever the umask.
    const write = (path: string, text: string) => {
      writeFileSync(path, text, { mode: access.fileMode, flag: 'wx' });
      chmodSync(path, access.fileMode);
      restrict(path, access, false);
    };
    const made = new Set<string>();
    const makeDir = (dir: string) => {
      if (made.has(dir)) return;
      if (dir !== temp) makeDir(dirname(dir));
      mkdirSync(dir, { mode: access.dirMode });
      chmodSync(dir, access.dirMode);
      restrict(dir, access, true);
      made.add(dir);
    };
    makeDir(join(temp, 'id'));
    makeDir(join(temp, LOGINS));
    for (const [name, identity] of policy.identities) write(join(temp, 'id', `${name}.json`), identityToJson(identity));
    for (const [name, logins] of loginFiles(loginIndex(policy))) {
      makeDir(dirname(join(temp, LOGINS, name)));
      write(join(temp, LOGINS, name), JSON.stringify(logins));
    }
    const meta = { signature, files: policy.files, audit: policy.audit, identities: [...policy.identities.keys()] };
    write(join(temp, 'meta.json'), JSON.stringify(meta));
    renameSync(temp, final);
  } catch (error) {
    try {
      rmSync(temp, { recursive: true, force: true });
    } catch {
      // Left for the next writer; this one reports why it did not write.
    }
    const code = (error as NodeJS.ErrnoException).code;
    // Another session wrote the same key first: that one is as good.
    return code === 'ENOTEMPTY' || code === 'EEXIST' ? null : (code ?? (error as Error).message);
  }
  // Caches of older policies or builds are never read again. Removing them is housekeeping: when
  // a policy changes under starting sessions, another one may be writing a key that this one is
  // removing (rmdir then fails with ENOTEMPTY). A stale entry costs a few files; a throw here
  // denied a connection.
  // Only this policy's own older entries go: another policy file beside it has entries here too.
  try {
    const keep = approvedKeys(cacheRoot);
    const policyPath = policyPathOf(signature);
    for (const name of readdirSync(cacheRoot)) {
      if (name === key || keep.has(name) || name.startsWith(`${APPROVED}.`) || name.startsWith('.tmp-')) continue;
      try {
        const meta = JSON.parse(readFileSync(join(cacheRoot, name, 'meta.json'), 'utf8')) as { signature?: unknown };
        if (policyPathOf(meta.signature) !== policyPath) continue;
      } catch {
        // No readable meta.json: not an entry anything can use.
      }
      try {
        rmSync(join(cacheRoot, name), { recursive: true, force: true });
      } catch {
        // Left for the next writer.
      }
    }
  } catch {
    // Housekeeping is never a reason to fail.
  }
  return null;
}
