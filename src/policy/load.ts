/**
 * Loading a policy, two ways:
 *   - the files as they are now (loadPolicy): what `check`, `explain`, `apply` and `replay` read,
 *     parsed every time;
 *   - what keys serve (loadServed, loadLogins): the applied version (applied/served.ts), never
 *     the files as they are now.
 */
import type { LoginLookup } from './cache.js';
import { cacheAccess, type CacheAccess } from './cache/write.js';
import { compileSources, type PolicySource } from './compile.js';
import { collectPolicyFiles, readPolicyFile } from './files.js';
import type { LoginIndex } from './logins.js';
import type { PolicyError } from '../values/policy-error.js';
import { DEFAULT_AUDIT_FILE, NAME_PATTERN, type Policy } from './schema.js';
import { runningUid } from '../trust.js';
import { servedLogins, servedPolicy } from './applied/served.js';
import type { AppliedPlace } from './applied/place.js';
import { servedRecord, versionSources, type VersionMeta } from './applied/versions.js';

export { policyParsed } from './compile.js';

/** The policy files as read: what `apply` snapshots, and who may read them (the compiled form gets the same). */
export interface PolicyFiles {
  realPath: string;
  sources: PolicySource[];
  access: CacheAccess;
}

/**
 * A policy loaded. Served: the applied version's number. Not loaded: whether nothing was applied
 * yet, and the audit settings of the version that no longer loads, so that its refusals go where
 * that version sent records.
 */
export type LoadedPolicy =
  | { ok: true; policy: Policy; files?: PolicyFiles; version?: number; from?: 'compiled' | 'sources' }
  | { ok: false; errors: PolicyError[]; notApplied?: true; lastAudit?: Policy['audit'] };

/** The policy files read whole and trusted, each unchanged while it was read; or why not. */
export function readPolicyFiles(
  path: string,
  uid: number = runningUid(),
): { ok: true; files: PolicyFiles } | { ok: false; errors: PolicyError[] } {
  const collected = collectPolicyFiles(path, uid);
  if (!collected.ok) return collected;
  const sources: PolicySource[] = [];
  const errors: PolicyError[] = [];
  for (const { path: file, stats } of collected.files) {
    const text = readPolicyFile(file, stats);
    if (!text.ok) errors.push({ file, line: 0, key: '', message: text.message });
    else if (!text.unchanged) errors.push({ file, line: 0, key: '', message: 'changed while it was read: run the command again' });
    else sources.push({ path: file, text: text.text });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, files: { realPath: collected.realPath, sources, access: cacheAccess(collected.files) } };
}

/** The policy files as they are now, parsed. */
export async function loadPolicy(path: string, options: { uid?: number } = {}): Promise<LoadedPolicy> {
  const read = readPolicyFiles(path, options.uid ?? runningUid());
  if (!read.ok) return read;
  const compiled = await compileSources(read.files.sources);
  return compiled.ok ? { ok: true, policy: compiled.policy, files: read.files } : compiled;
}

/** What a key of `identity` serves: that identity of the applied version (nothing else of it is read). */
export async function loadServed(path: string, identity: string, options: { uid?: number } = {}): Promise<LoadedPolicy> {
  // An --id that is not a valid name is in no policy, and must not become a cache file name.
  if (!NAME_PATTERN.test(identity))
    return { ok: true, policy: { files: [], audit: { file: DEFAULT_AUDIT_FILE, syslog: null }, identities: new Map() } };
  const uid = options.uid ?? runningUid();
  const served = await servedPolicy(path, identity, uid);
  if (served.ok) return { ok: true, policy: served.value, version: served.version, from: served.from };
  if (!served.notApplied) return served;
  // Nothing applied yet (a newcomer who has not run apply): the refusal goes to the log the files
  // name, where "ssh-dispatch logs" looks, rather than to the default one. Nothing else of them is used.
  const files = await loadPolicy(path, { uid });
  return files.ok ? { ...served, lastAudit: files.policy.audit } : served;
}

/**
 * Who may log into an account by a key, or by certificate (logins.ts), for sshd's
 * AuthorizedKeysCommand and AuthorizedPrincipalsCommand: by the applied version, like keys.
 */
export async function loadLogins(
  path: string,
  lookup: LoginLookup,
  options: { uid?: number } = {},
): Promise<{ ok: true; logins: LoginIndex } | { ok: false; errors: PolicyError[] }> {
  const served = await servedLogins(path, lookup, options.uid ?? runningUid());
  return served.ok ? { ok: true, logins: served.value } : { ok: false, errors: served.errors };
}

/**
 * The whole applied version (every identity), compiled by this build from its own files: what
 * `replay` decides "before" under, and what `apply` diffs against. Not the compiled cache: that
 * is read one identity at a time.
 */
export async function loadApplied(path: string, options: { uid?: number } = {}): Promise<LoadedPolicy> {
  const uid = options.uid ?? runningUid();
  const state = servedRecord(path, uid);
  if (typeof state === 'string') return { ok: false, errors: [{ file: path, line: 0, key: '', message: state }] };
  if (state.served === null)
    return { ok: false, notApplied: true, errors: [{ file: state.place.realPath, line: 0, key: '', message: 'no applied policy' }] };
  const loaded = await loadVersion(state.place, state.served, uid);
  return loaded.ok ? { ok: true, policy: loaded.policy, version: state.served.version } : loaded;
}

/** One version's own files, compiled by this build (apply diffs against it; rollback and reapply serve it); or why not. */
export async function loadVersion(
  place: AppliedPlace,
  meta: VersionMeta,
  uid: number = runningUid(),
): Promise<{ ok: true; policy: Policy; sources: PolicySource[] } | { ok: false; errors: PolicyError[] }> {
  const sources = versionSources(place, meta, uid);
  const message = `version ${meta.version}: its files are unreadable or not trusted`;
  if (sources === null) return { ok: false, errors: [{ file: place.realPath, line: 0, key: '', message }] };
  const compiled = await compileSources(sources);
  return compiled.ok ? { ok: true, policy: compiled.policy, sources } : compiled;
}
