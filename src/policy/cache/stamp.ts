/**
 * Which compiled entry belongs to whom: its stamp (the signature) names the build of ssh-dispatch,
 * the policy's real path and the applied version with its digest. A new build never reads an
 * older build's entry (another build may read the files differently): it compiles the version's
 * sources again (policy/applied/served.ts), and `reapply` writes its own entry. An entry's
 * directory is named by a hash of its signature (its key).
 */

/** Replaced by the build with a hash of the sources, so a new build never reads an old cache. */
declare const SSH_DISPATCH_BUILD_ID: string | undefined;
export const BUILD_ID = typeof SSH_DISPATCH_BUILD_ID === 'string' ? SSH_DISPATCH_BUILD_ID : 'unbundled';

/** Everything the compiled form depends on: this build, and the policy version it compiles. */
export function compiledSignature(policyPath: string, version: number, digest: string): string {
  return `${BUILD_ID}\n${policyPath}\nversion ${version} ${digest}\n`;
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
