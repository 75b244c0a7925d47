/**
 * Reads a policy file, or every *.yaml / *.yml file of a directory, and merges them.
 *
 * Like sshd's StrictModes: a policy that someone other than root or the account itself could
 * have written is not a policy, so each file, the directory, and every directory above them
 * must be owned by root or the running user and not writable by group or others. Sticky
 * directories above (like /tmp) are accepted: others cannot replace entries they do not own.
 * Symlinks among the policy files are refused.
 *
 * A connection usually reads the compiled cache (cache.ts) instead of the YAML: the YAML parser
 * is loaded only on a miss, and `check` and `explain` always parse.
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
import { dirname, join } from 'node:path';
import {
  approve,
  approvedKey,
  cacheAccess,
  cacheSignature,
  type LoginLookup,
  CACHE_DIR_NAME,
  lastGoodAudit,
  readCachedLogins,
  readCachedPolicy,
  writeCachedPolicy,
  type PolicyFileStat,
} from './cache.js';
import { loginIndex, type LoginIndex } from './logins.js';
import type { PolicyError } from '../values/policy-error.js';
import type { PolicyFragment } from './parse.js';
import { DEFAULT_AUDIT_FILE, NAME_PATTERN, type AuditSettings, type Identity, type Policy, type Where } from './schema.js';
import { runningUid, untrustedWriter } from '../trust.js';

/** A policy that does not load carries the audit settings of the last one that did, where a cache has them (policy/cache.ts lastGoodAudit). */
export type LoadedPolicy =
  | { ok: true; policy: Policy; cache: 'hit' | 'written' | 'not written' | 'not used'; approve?: () => string }
  | { ok: false; errors: PolicyError[]; lastAudit?: Policy['audit'] };

export interface LoadOptions {
  uid?: number;
  /** Read the cache for this identity only (forced-command mode); otherwise parse everything. */
  identity?: string;
  /** Write the cache after parsing, where the policy directory is writable. */
  writeCache?: boolean;
  /** Read the identity from the policy `check` last approved (policy/cache.ts), not from the files. */
  approved?: boolean;
}

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

function fail(file: string, message: string): LoadedPolicy {
  return { ok: false, errors: [{ file, line: 0, key: '', message }] };
}

/** Whether this process parsed policy YAML (a cache miss): no model run for the launcher's code cache (src/code-cache.ts). */
export let policyParsed = false;

/** The policy's files, trusted and in load order, with their stats; or why not. */
function collectPolicyFiles(
  path: string,
  uid: number,
): { ok: true; realPath: string; cacheRoot: string; files: PolicyFileStat[] } | { ok: false; errors: PolicyError[] } {
  let realPath: string;
  let stats: Stats;
  try {
    realPath = realpathSync(path);
    stats = statSync(realPath);
    // Every directory above the policy: a writable one lets others replace what lies below.
    for (let dir = dirname(realPath); ; dir = dirname(dir)) {
      const why = untrustedWriter(statSync(dir), uid, true);
      if (why) return fail(path, `directory ${dir} is ${why}`) as { ok: false; errors: PolicyError[] };
      if (dir === '/') break;
    }
  } catch (error) {
    return fail(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`) as {
      ok: false;
      errors: PolicyError[];
    };
  }
  let names: string[];
  if (stats.isDirectory()) {
    const why = untrustedWriter(stats, uid, false);
    if (why) return fail(path, `policy directory is ${why}`) as { ok: false; errors: PolicyError[] };
    names = readdirSync(realPath)
      .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('.'))
      .sort()
      .map((name) => join(realPath, name));
    if (names.length === 0) return fail(path, 'no *.yaml or *.yml files in this directory') as { ok: false; errors: PolicyError[] };
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
  const cacheRoot = join(stats.isDirectory() ? realPath : dirname(realPath), CACHE_DIR_NAME);
  return { ok: true, realPath, cacheRoot, files };
}

export async function loadPolicy(path: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  const uid = options.uid ?? runningUid();
  const collected = collectPolicyFiles(path, uid);
  if (!collected.ok) return collected;
  const signature = cacheSignature(collected.realPath, collected.files);

  if (options.identity !== undefined) {
    // An --id that is not a valid name is in no policy, and must not become a cache file name.
    if (!NAME_PATTERN.test(options.identity))
      return {
        ok: true,
        policy: { files: [], audit: { file: DEFAULT_AUDIT_FILE, syslog: null }, identities: new Map() },
        cache: 'not used',
      };
    if (options.approved) {
      const key = approvedKey(collected.cacheRoot, collected.realPath, uid);
      const approvedPolicy =
        key === null ? null : readCachedPolicy(collected.cacheRoot, { key, policyPath: collected.realPath }, options.identity, uid);
      if (approvedPolicy) return { ok: true, policy: approvedPolicy, cache: 'hit' };
      const lastAudit = lastGoodAudit(collected.cacheRoot, uid, collected.realPath);
      const error = {
        file: collected.realPath,
        line: 0,
        key: '',
        message:
          key === null
            ? 'no approved policy (--approved): run "ssh-dispatch check" as root to approve it'
            : 'the approved policy is gone or not trusted (--approved): run "ssh-dispatch check" as root',
      };
      return lastAudit ? { ok: false, errors: [error], lastAudit } : { ok: false, errors: [error] };
    }
    const cached = readCachedPolicy(collected.cacheRoot, signature, options.identity, uid);
    if (cached) return { ok: true, policy: cached, cache: 'hit' };
  }

  // The parser (and the yaml package) is loaded only here, on a cache miss.
  policyParsed = true;
  const { parsePolicyText } = await import('./parse.js');
  const fragments: PolicyFragment[] = [];
  const errors: PolicyError[] = [];
  let unchanged = true;
  for (const { path: file, stats } of collected.files) {
    const text = readPolicyFile(file, stats);
    if (!text.ok) {
      errors.push({ file, line: 0, key: '', message: text.message });
      continue;
    }
    unchanged &&= text.unchanged;
    const parsed = parsePolicyText(file, text.text);
    if (parsed.ok) fragments.push(parsed.fragment);
    else errors.push(...parsed.errors);
  }
  const failed = (errs: PolicyError[]): LoadedPolicy => {
    const lastAudit = lastGoodAudit(collected.cacheRoot, uid, collected.realPath);
    return lastAudit ? { ok: false, errors: errs, lastAudit } : { ok: false, errors: errs };
  };
  if (errors.length > 0) return failed(errors);
  const merged = mergeFragments(fragments);
  if (!merged.ok) return failed(merged.errors);
  // A file that changed while it was read would be cached under the stats it had before.
  if (!options.writeCache || !unchanged) return { ok: true, policy: merged.policy, cache: 'not used' };
  const failure = writeCachedPolicy(collected.cacheRoot, signature, merged.policy, cacheAccess(collected.files));
  if (failure !== null) return { ok: true, policy: merged.policy, cache: 'not written' };
  return { ok: true, policy: merged.policy, cache: 'written', approve: () => approve(collected.cacheRoot, signature, collected.realPath) };
}

/**
 * Who may log into an account by a key, or by certificate (logins.ts), for sshd's AuthorizedKeysCommand and
 * AuthorizedPrincipalsCommand: from the compiled cache (what `check` or any connection wrote),
 * else parsed, and cached where the running user may write (these commands usually run as an
 * unprivileged AuthorizedKeysCommandUser, which may not). `approved`: the policy `check` last
 * approved, as for --approved keys.
 */
export async function loadLogins(
  path: string,
  lookup: LoginLookup,
  options: { approved?: boolean; uid?: number } = {},
): Promise<{ ok: true; logins: LoginIndex } | { ok: false; errors: PolicyError[] }> {
  const uid = options.uid ?? runningUid();
  const collected = collectPolicyFiles(path, uid);
  if (!collected.ok) return collected;
  if (options.approved) {
    const key = approvedKey(collected.cacheRoot, collected.realPath, uid);
    const logins = key === null ? null : readCachedLogins(collected.cacheRoot, { key, policyPath: collected.realPath }, uid, lookup);
    if (logins) return { ok: true, logins };
    return {
      ok: false,
      errors: [
        {
          file: collected.realPath,
          line: 0,
          key: '',
          message:
            key === null
              ? 'no approved policy (--approved): run "ssh-dispatch check" as root to approve it'
              : 'the approved policy is gone or not trusted (--approved): run "ssh-dispatch check" as root',
        },
      ],
    };
  }
  const cached = readCachedLogins(collected.cacheRoot, cacheSignature(collected.realPath, collected.files), uid, lookup);
  if (cached) return { ok: true, logins: cached };
  const loaded = await loadPolicy(path, { uid, writeCache: true });
  return loaded.ok ? { ok: true, logins: loginIndex(loaded.policy) } : { ok: false, errors: loaded.errors };
}

/** Reads a policy file through O_NOFOLLOW; `unchanged` tells whether it is still the file that was stat'ed. */
function readPolicyFile(
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

function mergeFragments(fragments: PolicyFragment[]): LoadedPolicy {
  const errors: PolicyError[] = [];
  const identities = new Map<string, Identity>();
  let audit: { settings: AuditSettings; where: Where } | null = null;
  for (const fragment of fragments) {
    if (fragment.audit) {
      if (audit) {
        errors.push({
          ...fragment.audit.where,
          key: 'audit',
          message: `audit is already set in ${audit.where.file}:${audit.where.line} (at most one file may set it)`,
        });
      } else {
        audit = { settings: fragment.audit.settings, where: fragment.audit.where };
      }
    }
    for (const identity of fragment.identities) {
      const earlier = identities.get(identity.name);
      if (earlier) {
        errors.push({
          ...identity.where,
          key: `identities.${identity.name}`,
          message: `duplicate identity (first in ${earlier.where.file}:${earlier.where.line})`,
        });
      } else {
        identities.set(identity.name, identity);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    policy: { files: fragments.map((f) => f.file), audit: audit?.settings ?? { file: DEFAULT_AUDIT_FILE, syslog: null }, identities },
    cache: 'not used',
  };
}
