/** Applying a policy in a test, without the CLI's gate and output: the version written as `apply` writes it. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { appliedPlace, versionDir } from '../../src/policy/applied/place.js';
import { recordVersion } from '../../src/policy/applied/store.js';
import { COMPILED, type VersionMeta } from '../../src/policy/applied/versions.js';
import { loadPolicy } from '../../src/policy/load.js';
import { runningUid } from '../../src/trust.js';

export async function applyFiles(path: string): Promise<VersionMeta> {
  const loaded = await loadPolicy(path);
  if (!loaded.ok) throw new Error(`does not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
  const place = appliedPlace(path, runningUid());
  if (typeof place === 'string') throw new Error(place);
  const record = recordVersion(place, loaded.files!.sources, loaded.policy, {
    time: new Date().toISOString(),
    who: 'test',
    action: 'apply',
    restores: null,
    diff: [],
    message: null,
    access: loaded.files!.access,
  });
  if (typeof record === 'string') throw new Error(record);
  return record;
}

/** The directory of the one entry this build compiled of the served version (`version`). */
export function compiledEntry(path: string, version: number): string {
  const place = appliedPlace(path, runningUid());
  if (typeof place === 'string') throw new Error(place);
  const root = join(versionDir(place, version), COMPILED);
  const keys = readdirSync(root).filter((name) => /^[0-9a-f]+$/.test(name));
  if (keys.length !== 1) throw new Error(`expected one compiled entry in ${root}, found ${keys.length}`);
  return join(root, keys[0]!);
}

/** The policy's state directory (.ssh-dispatch-applied/<hash>). */
export function stateDir(path: string): string {
  const place = appliedPlace(path, runningUid());
  if (typeof place === 'string') throw new Error(place);
  return place.dir;
}
