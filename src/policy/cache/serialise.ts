/**
 * The one serialise of a cache entry: a policy, compiled, as the files of its entry (relative
 * path → text). deserialise.ts reads each back, checked against the same types.
 *
 *   meta.json                               signature, files, audit settings, identity names
 *   id/<identity>.json                      one identity, compiled
 *   logins/<account>/keys/<fingerprint>.json  the identities that key may log in as
 *   logins/<account>/principals.json          the identities certificates may log in as
 */
import { join } from 'node:path';
import { bytesReplacer } from '../../values/decode.js';
import { loginIndex, type Login, type LoginIndex } from '../logins.js';
import type { Identity, Policy } from '../schema.js';

export const IDENTITIES = 'id';
export const LOGINS = 'logins';
export const META = 'meta.json';

/** meta.json: what every read of the entry opens first. */
export interface EntryMeta {
  signature: string;
  files: string[];
  audit: Policy['audit'];
  identities: string[];
}

/** An identity's file name in the entry (names are NAME_PATTERN: safe as file names). */
export function identityFile(name: string): string {
  return join(IDENTITIES, `${name}.json`);
}

/** A fingerprint as a file name: its base64 made URL-safe (no / in it). */
export function keyFileName(fingerprint: string): string {
  return `${fingerprint
    .replace(/^SHA256:/, '')
    .replaceAll('+', '-')
    .replaceAll('/', '_')}.json`;
}

/**
 * The compiled logins (logins.ts) as files, so that a key offered reads only what it needs
 * whatever the fleet's size (a thousand hosts' keys usually log into one backup account).
 */
function loginFiles(index: LoginIndex): Map<string, Login[]> {
  const files = new Map<string, Login[]>();
  for (const [account, logins] of Object.entries(index)) {
    for (const login of logins) {
      const names =
        login.principals !== null
          ? [join(account, 'principals.json')]
          : (login.keys ?? []).map((key) => join(account, 'keys', keyFileName(key)));
      for (const name of new Set(names)) files.set(name, [...(files.get(name) ?? []), login]);
    }
  }
  return files;
}

/** Every file of the entry for `policy`, by its path in the entry, meta.json last (a reader opens it first). */
export function serialiseEntry(signature: string, policy: Policy): Map<string, string> {
  const files = new Map<string, string>();
  // Compiled identities hold Uint8Arrays (address ranges, wherever they occur); JSON does not.
  for (const [name, identity] of policy.identities)
    files.set(identityFile(name), JSON.stringify(identity satisfies Identity, bytesReplacer));
  for (const [name, logins] of loginFiles(loginIndex(policy))) files.set(join(LOGINS, name), JSON.stringify(logins));
  const meta: EntryMeta = { signature, files: policy.files, audit: policy.audit, identities: [...policy.identities.keys()] };
  files.set(META, JSON.stringify(meta));
  return files;
}
