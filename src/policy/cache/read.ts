/**
 * Reading the cache: an entry that is the one wanted (stamp.ts), trusted (trusted.ts), and of
 * the right shape (deserialise.ts); null on any miss or doubt, and the caller then parses the
 * YAML. An identity absent from a complete cache is absent from the policy.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity, Policy } from '../schema.js';
import type { LoginIndex } from '../logins.js';
import { readIdentity, readLogins, readMeta } from './deserialise.js';
import { identityFile, IDENTITIES, keyFileName, LOGINS, META, type EntryMeta } from './serialise.js';
import { cacheKey } from './stamp.js';
import { exists, readTrusted, trustedDirectory } from './trusted.js';

/** What a login command asks: the logins of one key, or the certificate logins, of one account. */
export type LoginLookup = { account: string; fingerprint: string } | { account: string; principals: true };

/** A cache entry that is the one wanted, trusted: its directory and its meta.json, whose signature matches; null on any miss or doubt. */
function openEntry(cacheRoot: string, signature: string, uid: number): { dir: string; meta: EntryMeta } | null {
  const dir = join(cacheRoot, cacheKey(signature));
  if (!trustedDirectory(cacheRoot, uid) || !trustedDirectory(dir, uid)) return null;
  const text = readTrusted(join(dir, META), uid);
  const meta = text === null ? null : readMeta(text);
  return meta?.ok && meta.value.signature === signature ? { dir, meta: meta.value } : null;
}

export function readCachedPolicy(cacheRoot: string, signature: string, identity: string, uid: number): Policy | null {
  const entry = openEntry(cacheRoot, signature, uid);
  if (entry === null) return null;
  const { dir, meta } = entry;
  const identities = new Map<string, Identity>();
  if (meta.identities.includes(identity)) {
    // Listed but unreadable, untrusted or of the wrong shape: a miss, never "no such identity".
    if (!trustedDirectory(join(dir, IDENTITIES), uid)) return null;
    const text = readTrusted(join(dir, identityFile(identity)), uid);
    const shard = text === null ? null : readIdentity(text);
    if (!shard?.ok || shard.value.name !== identity) return null;
    identities.set(identity, shard.value);
  }
  return { files: meta.files, audit: meta.audit, identities };
}

/**
 * The logins a lookup needs, from the cache, trusted like any cache read: a LoginIndex holding
 * that account's matching logins only. A file that is not there means none; null on any miss
 * or doubt.
 */
export function readCachedLogins(cacheRoot: string, signature: string, uid: number, lookup: LoginLookup): LoginIndex | null {
  const entry = openEntry(cacheRoot, signature, uid);
  if (entry === null || !trustedDirectory(join(entry.dir, LOGINS), uid)) return null;
  // A null-prototype object: an account named __proto__ must be a name, not Object.prototype.
  const index = Object.create(null) as LoginIndex;
  const accountDir = join(entry.dir, LOGINS, lookup.account);
  if (!exists(accountDir)) return index;
  const parent = 'principals' in lookup ? accountDir : join(accountDir, 'keys');
  if (!trustedDirectory(accountDir, uid) || (exists(parent) && !trustedDirectory(parent, uid))) return null;
  const file = 'principals' in lookup ? join(accountDir, 'principals.json') : join(parent, keyFileName(lookup.fingerprint));
  const text = readTrusted(file, uid);
  if (text === null) return exists(file) ? null : index;
  const logins = readLogins(text);
  if (!logins.ok) return null;
  index[lookup.account] = logins.value;
  return index;
}

/**
 * The audit settings of any compiled entry in `cacheRoot` (one version's, whatever build wrote
 * it): when this build cannot serve the version (its sources no longer compile), the refusal
 * still goes to the log and the syslog collector that version named, not to the default log
 * alone (found by an operator: the collector never heard of the broken policy). Trusted like any
 * cache read.
 */
export function lastGoodAudit(cacheRoot: string, uid: number): Policy['audit'] | null {
  if (!trustedDirectory(cacheRoot, uid)) return null;
  let entries: string[];
  try {
    entries = readdirSync(cacheRoot);
  } catch {
    return null;
  }
  for (const entry of entries) {
    const dir = join(cacheRoot, entry);
    if (!/^[0-9a-f]+$/.test(entry) || !trustedDirectory(dir, uid)) continue;
    const text = readTrusted(join(dir, META), uid);
    const meta = text === null ? null : readMeta(text);
    if (meta?.ok) return meta.value.audit;
  }
  return null;
}
