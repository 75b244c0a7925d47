/**
 * One line on what keys serve, against the files as they are now: `check` ends with it, and
 * `history` and `authorized-key` say the same, so that an edit nobody applied is never mistaken
 * for a live one.
 */
import { servedRecord, type VersionMeta } from '../policy/applied/versions.js';
import { policyDigest } from '../policy/applied/store.js';
import type { PolicyFiles } from '../policy/load.js';
import { runningUid } from '../trust.js';

export function servedBy(meta: VersionMeta): string {
  return `version ${meta.version} (${meta.action} ${meta.time.slice(0, 16).replace('T', ' ')} UTC by ${meta.who})`;
}

export function appliedStatus(policyPath: string, files: PolicyFiles | null): string {
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string') return `served: unknown (${state})`;
  if (state.served === null) return 'served: nothing; keys refuse every request until "ssh-dispatch apply" serves these files';
  if (files !== null && policyDigest(files.sources).digest === state.served.digest) return `served: these files, ${servedBy(state.served)}`;
  return `served: ${servedBy(state.served)}; these files differ from it: "ssh-dispatch replay" shows what would change, "ssh-dispatch apply" serves them`;
}
