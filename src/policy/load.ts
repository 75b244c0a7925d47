/**
 * Loads the policy: its files (files.ts: which, trusted, read), parsed and merged (merge.ts), or
 * for one identity the compiled cache (cache.ts) instead of the YAML: the YAML parser is loaded
 * only on a miss, and `check` and `explain` always parse.
 */
import {
  approve,
  approvedKey,
  cacheAccess,
  cacheSignature,
  type LoginLookup,
  lastGoodAudit,
  readCachedLogins,
  readCachedPolicy,
  writeCachedPolicy,
} from './cache.js';
import { collectPolicyFiles, readPolicyFile } from './files.js';
import { loginIndex, type LoginIndex } from './logins.js';
import { mergeFragments } from './merge.js';
import type { PolicyError } from '../values/policy-error.js';
import type { PolicyFragment } from './parse.js';
import { DEFAULT_AUDIT_FILE, NAME_PATTERN, type Policy } from './schema.js';
import { runningUid } from '../trust.js';

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

/** Whether this process parsed policy YAML (a cache miss): no model run for the launcher's code cache (src/code-cache.ts). */
export let policyParsed = false;

/** Why --approved found nothing to read: `check` has approved no policy (key null), or what it approved is gone. */
function notApproved(realPath: string, key: string | null): PolicyError {
  return {
    file: realPath,
    line: 0,
    key: '',
    message:
      key === null
        ? 'no approved policy (--approved): run "ssh-dispatch check" as root to approve it'
        : 'the approved policy is gone or not trusted (--approved): run "ssh-dispatch check" as root',
  };
}

export async function loadPolicy(path: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  const uid = options.uid ?? runningUid();
  const collected = collectPolicyFiles(path, uid);
  if (!collected.ok) {
    const lastAudit = collected.cacheRoot && collected.realPath ? lastGoodAudit(collected.cacheRoot, uid, collected.realPath) : null;
    return lastAudit ? { ok: false, errors: collected.errors, lastAudit } : { ok: false, errors: collected.errors };
  }
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
      const error = notApproved(collected.realPath, key);
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
    return { ok: false, errors: [notApproved(collected.realPath, key)] };
  }
  const cached = readCachedLogins(collected.cacheRoot, cacheSignature(collected.realPath, collected.files), uid, lookup);
  if (cached) return { ok: true, logins: cached };
  const loaded = await loadPolicy(path, { uid, writeCache: true });
  return loaded.ok ? { ok: true, logins: loginIndex(loaded.policy) } : { ok: false, errors: loaded.errors };
}
