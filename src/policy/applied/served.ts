/**
 * What a connection serves: the applied version (place.ts), compiled by this build where `apply`
 * or `reapply` wrote it, else compiled here from the version's own sources (after an upgrade,
 * before `reapply`: slower, never refused for it). The policy files as they are now are never
 * read, so an edit, a typo or a chmod slip serves nothing until `apply`.
 */
import { join } from 'node:path';
import { compiledSignature, lastGoodAudit, type LoginLookup, readCachedLogins, readCachedPolicy } from '../cache.js';
import { compileSources } from '../compile.js';
import { loginIndex, type LoginIndex } from '../logins.js';
import type { Policy } from '../schema.js';
import type { PolicyError } from '../../values/policy-error.js';
import { appliedPlace, versionDir, type AppliedPlace } from './place.js';
import { exists } from '../cache/trusted.js';
import { COMPILED, CURRENT, currentVersion, readVersion, versionSources, type VersionMeta } from './versions.js';

export type Served<T> =
  | { ok: true; value: T; version: number; from: 'compiled' | 'sources' }
  | { ok: false; errors: PolicyError[]; notApplied?: true; lastAudit?: Policy['audit'] };

function failed(file: string, message: string, extra: { notApplied?: true; lastAudit?: Policy['audit'] | null } = {}): Served<never> {
  const result: Served<never> = { ok: false, errors: [{ file, line: 0, key: '', message }] };
  if (extra.notApplied) result.notApplied = true;
  if (extra.lastAudit) result.lastAudit = extra.lastAudit;
  return result;
}

/** The served version of the policy at `path`: its place and record, or why there is none. */
function servedVersion(path: string, uid: number): { place: AppliedPlace; meta: VersionMeta } | Served<never> {
  const place = appliedPlace(path, uid);
  if (typeof place === 'string') return failed(path, place);
  const version = currentVersion(place, uid);
  if (version === null && exists(join(place.dir, CURRENT)))
    return failed(
      place.realPath,
      `${join(place.dir, CURRENT)} is unreadable or not trusted (owned by root or this account, not writable by others)`,
    );
  if (version === null)
    return failed(place.realPath, 'no applied policy: run "ssh-dispatch apply" as root (keys serve only an applied policy)', {
      notApplied: true,
    });
  const meta = readVersion(place, version, uid);
  if (meta === null) return failed(place.realPath, `applied version ${version} is unreadable or not trusted: run "ssh-dispatch history"`);
  return { place, meta };
}

/** Reads `what` from the version compiled by this build, else compiles the version's sources here. */
async function readServed<T>(
  path: string,
  uid: number,
  fromCache: (root: string, signature: string) => T | null,
  fromPolicy: (policy: Policy) => T,
): Promise<Served<T>> {
  const served = servedVersion(path, uid);
  if ('ok' in served) return served;
  const { place, meta } = served;
  const root = join(versionDir(place, meta.version), COMPILED);
  const cached = fromCache(root, compiledSignature(place.realPath, meta.version, meta.digest));
  if (cached !== null) return { ok: true, value: cached, version: meta.version, from: 'compiled' };
  const sources = versionSources(place, meta, uid);
  const lastAudit = lastGoodAudit(root, uid);
  if (sources === null)
    return failed(place.realPath, `applied version ${meta.version}: its files are unreadable or not trusted`, { lastAudit });
  const compiled = await compileSources(sources);
  if (!compiled.ok) {
    const first = compiled.errors[0]!;
    return failed(
      place.realPath,
      `applied version ${meta.version} does not load with this build (${first.file}:${first.line}: ${first.message}): run "ssh-dispatch reapply"`,
      { lastAudit },
    );
  }
  return { ok: true, value: fromPolicy(compiled.policy), version: meta.version, from: 'sources' };
}

/** One identity's part of the served policy (the rest of `identities` is left out). */
export function servedPolicy(path: string, identity: string, uid: number): Promise<Served<Policy>> {
  return readServed(
    path,
    uid,
    (root, signature) => readCachedPolicy(root, signature, identity, uid),
    (policy) => policy,
  );
}

/** Who may log into an account, by the served policy (for sshd's AuthorizedKeysCommand and AuthorizedPrincipalsCommand). */
export function servedLogins(path: string, lookup: LoginLookup, uid: number): Promise<Served<LoginIndex>> {
  return readServed(
    path,
    uid,
    (root, signature) => readCachedLogins(root, signature, uid, lookup),
    (policy) => loginIndex(policy),
  );
}
