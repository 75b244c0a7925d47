/**
 * The launcher sshd runs (dist/ssh-dispatch.cjs). Before the program is loaded (3, below) it:
 * (and, for the log-review commands only, replaces itself with Node started with a smaller young
 * generation: below)
 *
 * 1. Replaces Node's SIGUSR1 handler. Node opens its inspector (a debugger on 127.0.0.1:9229)
 *    when it receives SIGUSR1, and rsync's exit_cleanup() sends SIGUSR1 to its whole process
 *    group on every error exit: a supervised rsync that a client makes fail would hand any local
 *    user a debugger in a root process. SIGUSR2 would end a Node process that has no listener.
 *
 * 2. Reads where install.sh put the configuration and the logs (installed.conf beside it, if
 *    there: src/installed.ts), the defaults of --policy and of the audit log. It names the
 *    policy, so it is trusted like the code: a regular file owned by root (or the running user),
 *    writable by nobody else; otherwise nothing runs (fail closed).
 *
 * 3. Enables a code cache (V8 code for the bundle, kept on disk beside it), which saves
 *    milliseconds of every connection: Node's compile cache for the whole program, one made
 *    after a run for what sshd runs (code-cache.ts). It has to happen before the bundle is
 *    compiled, hence this separate file. A code cache is code, so it is used only in a directory as trusted as
 *    ssh-dispatch itself: not a symlink, owned by root or the running user, not writable by
 *    group or others. Elsewhere the program runs without it, only slower.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { runCached } from './code-cache.js';
import { LOGIN_COMMANDS, servesConnection } from './forced-mode.js';
import { handOver, INSTALLED_FILE, parseInstalled } from './installed.js';
import { runningUid, untrustedWriter } from './trust.js';

for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => {});

/**
 * Each account has its own cache directory, `.compile-cache/UID`: root's is created here, a
 * service account's by `install.sh --account NAME` (an account cannot create one in the
 * root-owned parent, and must not share root's: a cache it wrote would be code root runs).
 * Both levels must be as trusted as ssh-dispatch itself.
 */
function trustedCompileCache(parent: string, dir: string): boolean {
  const uid = runningUid();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const above = lstatSync(parent);
      const own = lstatSync(dir);
      return above.isDirectory() && untrustedWriter(above, uid) === null && own.isDirectory() && untrustedWriter(own, uid) === null;
    } catch {
      if (uid !== 0) return false;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
      } catch {
        return false;
      }
    }
  }
  return false;
}

/**
 * The log-review commands (and replay) read a whole log (a million records) through short-lived objects:
 * with Node's default young generation on a machine with plenty of memory they peak at 200 MiB
 * where 4 MiB semi-spaces keep them near 110 MiB at the same speed (BENCHMARKS.md). The size is
 * fixed when Node starts (v8.setFlagsFromString later does not resize the heap), so these
 * commands start Node again with it set; nothing else pays for that.
 *
 * By execve(2), not a child: the same process (pid, process group, terminal) becomes the new
 * Node, so a signal for `logs --follow` (Ctrl-C, kill, systemd stopping a unit) reaches the one
 * process that reads the log, and nothing is left behind. (A child under spawnSync received no
 * forwarded signal: killing the parent left it following the log forever.) process.execve is
 * in every runtime ssh-dispatch supports (Node >= 22.15, main.ts); without it, no flag.
 */
const LOG_REVIEW = new Set(['logs', 'summary', 'status', 'replay']);
if (
  LOG_REVIEW.has(process.argv[2] ?? '') &&
  !process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size')) &&
  typeof process.execve === 'function'
) {
  process.execve(process.execPath, [process.execPath, '--max-semi-space-size=4', __filename, ...process.argv.slice(2)], process.env);
}

/** Reads installed.conf (2, above); a missing file is no error: the built-in defaults hold. */
function readInstalled(forced: boolean): void {
  const file = join(__dirname, INSTALLED_FILE);
  // A client is told no more than that; the administrator's commands (and sshd's log, for the
  // login commands) say what is wrong.
  const toClient = forced && !LOGIN_COMMANDS.includes(argv[0] ?? '');
  const refuse = (why: string): never => {
    process.stderr.write(
      toClient ? 'ssh-dispatch: refused: the installation is damaged\n' : `ssh-dispatch: ${file}: ${why}; nothing runs until it is fixed\n`,
    );
    process.exit(toClient ? 126 : forced ? 1 : 2); // 126: what a refused request exits with
  };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    return refuse(code === 'ELOOP' ? 'a symbolic link, not the regular file install.sh writes' : (error as Error).message);
  }
  const stats = fstatSync(fd);
  const why = stats.isFile() ? untrustedWriter(stats, runningUid()) : 'not a regular file';
  if (why !== null) refuse(why);
  const settings = parseInstalled(readFileSync(fd, 'utf8'));
  closeSync(fd);
  if (typeof settings === 'string') refuse(settings);
  else handOver(settings);
}

const argv = process.argv.slice(2);
const forced = servesConnection(argv, process.env);
readInstalled(forced);

const cacheParent = join(__dirname, '.compile-cache');
const cacheDir = join(cacheParent, String(runningUid()));
const trusted = trustedCompileCache(cacheParent, cacheDir);

/**
 * 4. Loads the program: for what sshd runs (the forced command, the login commands), the bundle
 *    that holds only them (src/serve-main.ts), with a code cache made after a run
 *    (code-cache.ts); else the whole program (src/main.ts), with Node's compile cache. Never
 *    both bundles in one process: each has its own copy of the classes matched with instanceof.
 */
if (forced) {
  const kind = LOGIN_COMMANDS.includes(argv[0] ?? '') ? argv[0]! : 'forced';
  // NODE_DISABLE_COMPILE_CACHE=1, which turns Node's cache off, turns this one off too.
  runCached(
    join(__dirname, 'ssh-dispatch-serve.cjs'),
    trusted && process.env.NODE_DISABLE_COMPILE_CACHE !== '1' ? cacheDir : null,
    kind,
  ).start();
} else {
  if (trusted) {
    try {
      enableCompileCache(cacheDir);
    } catch {
      // Without the cache the program is only slower.
    }
  }
  require('./ssh-dispatch-core.cjs');
}
