/**
 * The compiled policy: what a connection reads instead of parsing YAML.
 *
 * sshd starts ssh-dispatch for every connection, and loading the YAML parser and parsing costs
 * more than everything else it does. So `apply` writes each applied version compiled
 * (policy/applied/place.ts has where), and a connection reads one small JSON file: its own
 * identity's.
 *
 *   <entry>/meta.json          audit settings, files
 *   <entry>/id/<identity>.json one identity, compiled
 *   <entry>/logins/<account>/... who may log into that account, by key and by certificate
 *
 * Each concern has its module in cache/:
 *   stamp.ts        which entry is whose: the signature (build, policy, version) and its key
 *   trusted.ts      whether what lies there may be believed: owners, modes, no symlinks
 *   serialise.ts    the one serialise: a policy as the files of an entry
 *   deserialise.ts  the one validating read: each file back, checked key by key (a bad one is a miss)
 *   read.ts         a connection's reads: a policy for one identity, logins, the audit settings
 *   write.ts        writing an entry atomically, with the policy's own modes, and housekeeping
 */
export { lastGoodAudit, readCachedLogins, readCachedPolicy, type LoginLookup } from './cache/read.js';
export { BUILD_ID, cacheKey, compiledSignature } from './cache/stamp.js';
export { cacheAccess, PUBLIC_CACHE, writeCachedPolicy, type CacheAccess } from './cache/write.js';
