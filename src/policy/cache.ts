/**
 * The compiled policy cache: what a connection reads instead of parsing YAML.
 *
 * sshd starts ssh-dispatch for every connection, and loading the YAML parser and parsing costs
 * more than everything else it does. So a successful load is written, compiled, beside the
 * policy, and the next connection reads one small JSON file: its own identity's.
 *
 *   <policy dir>/.ssh-dispatch-cache/<key>/meta.json          audit settings, files
 *   <policy dir>/.ssh-dispatch-cache/<key>/id/<identity>.json  one identity, compiled
 *   <policy dir>/.ssh-dispatch-cache/<key>/logins/<account>/... who may log into that account,
 *                                                             by key and by certificate
 *
 * Each concern has its module in cache/:
 *   stamp.ts        whether an entry is fresh: the signature and the key it hashes to
 *   trusted.ts      whether what lies there may be believed: owners, modes, no symlinks
 *   serialise.ts    the one serialise: a policy as the files of an entry
 *   deserialise.ts  the one validating read: each file back, checked key by key (a bad one is a miss)
 *   read.ts         a connection's reads: a policy for one identity, logins, the last good audit
 *   write.ts        writing an entry atomically, with the policy's own modes, and housekeeping
 *   approved.ts     the approved pointer (`--approved`) that `check` writes
 *
 * Where the running user cannot write the policy directory, no cache is written and every load
 * parses the YAML; `ssh-dispatch check`, run by root, writes it for them.
 */
export const CACHE_DIR_NAME = '.ssh-dispatch-cache';

export { approve, approvedKey } from './cache/approved.js';
export { lastGoodAudit, readCachedLogins, readCachedPolicy, type LoginLookup } from './cache/read.js';
export { cacheKey, cacheSignature, type ApprovedEntry, type PolicyFileStat } from './cache/stamp.js';
export { cacheAccess, PUBLIC_CACHE, writeCachedPolicy, type CacheAccess } from './cache/write.js';
