/**
 * The serve bundle's V8 code cache, made after a run. Node's compile cache (enableCompileCache)
 * saves a script's code as it was compiled, before it ran: only the top level. Every function a
 * connection then calls was compiled again from source in every connection. A cache made after
 * a run (V8's createCachedData, called when the run is over) holds those functions too: about
 * 4.5 ms of CPU less for an allowed request (BENCHMARKS.md, section 12).
 *
 * Trust, as for Node's cache (entry.ts): a code cache is code, so it is read and written only in
 * the account's own trusted directory. Its name carries the bundle's content hash (the
 * `code-cache-key` line scripts/build.mjs writes at the top) and the file's inode and change time
 * (readBundle): V8 itself checks only a source's length, and neither another build nor an edit
 * of the same length must ever run this one's code. A cache V8 rejects (another runtime, other
 * flags) is replaced, and so is one damaged (intact). A run writes it only when it read none,
 * at its end: before process.execve replaces it (a diagnostics channel Node publishes on), or
 * at exit; through a rename, so a concurrent connection reads a whole one or none; and only
 * after a typical run (the bundle's typicalRun(): not one that parsed the policy's YAML, whose
 * code the next runs would deserialise for nothing, about 2 ms).
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What the bundle exports: typicalRun() says whether this run's code is worth caching (serve-main.ts). */
export interface Bundle {
  start(): void;
  typicalRun?(): boolean;
}

const KEY = /^\/\* code-cache-key: ([0-9a-f]{16,64}) \*\//;

/**
 * Runs a CommonJS bundle as require() would, with a code cache in `cacheDir` (null: none) kept
 * apart for each `kind` of run (what a run compiles is what its cache holds). Returns its exports.
 */
export function runCached(file: string, cacheDir: string | null, kind: string): Bundle {
  const { source, stamp } = readBundle(file);
  const key = KEY.exec(source)?.[1];
  const cacheFile =
    cacheDir !== null && key !== undefined
      ? join(cacheDir, `${basename(file, '.cjs')}.${kind}.${key}.${stamp}.${process.version}-${process.arch}.v8cache`)
      : null;
  let cachedData: Buffer | undefined;
  if (cacheFile !== null) {
    try {
      // A damaged one is as none: this run makes another.
      cachedData = intact(readFileSync(cacheFile)) ?? undefined;
    } catch {
      // None yet: this run makes it.
    }
  }
  const { Script } = process.getBuiltinModule('node:vm');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  if (cacheFile !== null && (cachedData === undefined || script.cachedDataRejected === true)) {
    let saved = false;
    const save = () => {
      if (saved || module.exports.typicalRun?.() === false) return;
      saved = true;
      const temporary = `${cacheFile}.${process.pid}`;
      try {
        const data = script.createCachedData();
        writeFileSync(temporary, Buffer.concat([data, data]), { mode: 0o600 });
        renameSync(temporary, cacheFile);
      } catch {
        // Without it the next run is only slower; a part written is not left behind.
        try {
          rmSync(temporary, { force: true });
        } catch {
          // Nothing more to do.
        }
      }
    };
    process.getBuiltinModule('node:diagnostics_channel').subscribe('process.execve', save);
    process.once('exit', save);
  }
  const module = { exports: {} as Bundle };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, dirname(file));
  return module.exports;
}

/**
 * V8's data from a cache file, which holds it twice; null when the two differ (or the file cannot
 * be two copies). V8 checks a code cache's header, not its contents (release builds verify no
 * checksum), and one damaged past its header (a bad block, a write cut short) stopped every later
 * start with a fatal error (found in review: exit 133 before any record, for every connection and
 * every login command, until someone deleted the file). A second read of a few hundred KiB and a
 * memcmp cost about 0.1 ms; a hash would load a module (2 ms).
 */
export function intact(file: Buffer): Buffer | null {
  const half = file.length / 2;
  if (half === 0 || !Number.isInteger(half)) return null;
  const data = file.subarray(0, half);
  return data.equals(file.subarray(half)) ? data : null;
}

/**
 * The bundle's text, and a stamp of the file it was read from: its inode and change time. The key
 * line names the build, and V8 checks only the source's length, so an edit of the file that keeps
 * its length (a fix patched in by hand: one character, one digit) ran the old code from the cache
 * (found in review). An edit gives the file another change time (which no user can set back), a
 * reinstall another inode: either way the cache made before is not read.
 */
function readBundle(file: string): { source: string; stamp: string } {
  const fd = openSync(file, 'r');
  try {
    const stats = fstatSync(fd, { bigint: true });
    return { source: readFileSync(fd, 'utf8'), stamp: `${stats.ino.toString(36)}-${stats.ctimeNs.toString(36)}` };
  } finally {
    closeSync(fd);
  }
}
