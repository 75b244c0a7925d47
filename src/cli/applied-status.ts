/**
 * One line on what keys serve, against the files as they are now: `check` ends with it, and
 * `history` and `authorized-key` say the same, so that an edit nobody applied is never mistaken
 * for a live one.
 */
import { servedRecord, type VersionMeta } from '../policy/applied/versions.js';
import { policyDigest } from '../policy/applied/store.js';
import type { PolicyFiles } from '../policy/load.js';
import { sameAccess } from '../policy/cache/write.js';
import { runningUid } from '../trust.js';

export function servedBy(meta: VersionMeta): string {
  return `version ${meta.version} (${meta.action} ${meta.time.slice(0, 16).replace('T', ' ')} UTC by ${meta.who})`;
}

/** How who may read the files changed from the served version (a chmod or chgrp since), or null. */
export function accessChange(served: VersionMeta, access: VersionMeta['access']): string | null {
  if (sameAccess(served.access, access)) return null;
  const mode = (m: number) => m.toString(8).padStart(4, '0');
  const group = access.gid === null ? '' : `, group ${access.gid}`;
  return `files ${mode(served.access.fileMode)} -> ${mode(access.fileMode)}${group}`;
}

export function appliedStatus(policyPath: string, files: PolicyFiles | null): string {
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string') return `served: unknown (${state})`;
  if (state.served === null) return 'served: nothing; keys refuse every request until "ssh-dispatch apply" serves these files';
  if (files !== null && policyDigest(files.sources).digest === state.served.digest) {
    // A chmod to let the accounts read them reaches no connection until apply.
    const access = accessChange(state.served, files.access);
    const since = access === null ? '' : `; who may read them changed since (${access}): "ssh-dispatch apply" serves that`;
    return `served: these files, ${servedBy(state.served)}${since}`;
  }
  return `served: ${servedBy(state.served)}; these files differ from it: "ssh-dispatch replay" shows what would change, "ssh-dispatch apply" serves them`;
}
