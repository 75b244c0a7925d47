/**
 * rsync's protected arguments (`-s`, `--protect-args`, `--secluded-args`; BackupPC's default).
 * The client keeps the command line to `rsync --server [--sender] -s<flags>` and sends the rest
 * (further options, ".", the paths) on the connection, before the protocol starts: each argument
 * NUL-terminated, "rsync" first, an empty one last (rsync main.c send_protected_args, read by
 * io.c read_args). The dispatcher reads them off stdin (host/protected-args.ts), and they are
 * vetted here exactly as command-line words: the same option table, the same confinement and
 * wildcard expansion. rsync is then started without -s and with all of them on its command
 * line, so the stream it reads begins where the protocol does.
 */
import { wordProblem } from '../../request/tokenize.js';
import type { DenyReason } from '../../values/deny-reason.js';
import { looksLikeRsync } from './server-args.js';

/** At most this much is read ahead of the protocol: a list longer than a command could be is no client's. */
export const MAX_PROTECTED_BYTES = 64 * 1024;
export const MAX_PROTECTED_ARGS = 4096;

const GLOB = /[*?[]/;

/**
 * The index of the server flag cluster that asks for protected arguments, or null. The letters
 * after `e` in a cluster are capabilities (`-logDtpre.iLsfxCIvu`: that `s` is not -s).
 */
export function protectedArgsFlag(words: readonly string[]): number | null {
  // After any wrapper a client puts in front (`sudo /usr/bin/rsync --server -s...`): the decision
  // reads the wrapper itself (rules/spelling.ts) and refuses what it does not take.
  const server = words.indexOf('--server');
  if (server < 1 || !looksLikeRsync([words[server - 1]!])) return null;
  for (let i = server + 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--sender') continue;
    if (word === '--protect-args' || word === '--secluded-args') return i;
    if (/^-[^-]/.test(word)) {
      const flags = word.slice(1).split('e')[0]!;
      if (flags.includes('s')) return i;
      continue;
    }
    break;
  }
  return null;
}

/** The arguments in what the client sent, up to the empty one that ends them; 'more' when that has not come yet. */
export function splitProtectedArgs(bytes: Buffer): string[] | 'more' | 'too-long' {
  const args: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    if (i === start) return args;
    args.push(bytes.subarray(start, i).toString('utf8'));
    if (args.length > MAX_PROTECTED_ARGS) return 'too-long';
    start = i + 1;
  }
  return bytes.length > MAX_PROTECTED_BYTES ? 'too-long' : 'more';
}

export type Merged = { ok: true; words: string[]; globs: Map<number, string> } | { ok: false; reason: DenyReason; detail: string };

/**
 * The command words with the protected arguments in place of -s: the flag taken out of its
 * cluster (or the long option dropped), "rsync" (their arg0) dropped, each checked as a word of
 * a command would be. A path with a wildcard is one rsync would have expanded (read_args globs
 * the paths): it is marked so, for the pull expansion inside root.
 */
export function withProtectedArgs(words: readonly string[], globs: ReadonlyMap<number, string>, args: readonly string[]): Merged {
  const at = protectedArgsFlag(words);
  if (at === null) return { ok: false, reason: 'rsync-bad-syntax', detail: 'protected arguments were read for a command without -s' };
  if (globs.size > 0) return { ok: false, reason: 'tokenize-glob', detail: 'a wildcard on the command line of a -s request' };
  if (args[0] !== 'rsync')
    return { ok: false, reason: 'rsync-protected-args', detail: 'the protected arguments do not start with "rsync"' };
  const flag = words[at]!;
  const cluster = flag.startsWith('--') ? null : flag.replace(/^(-[^e]*?)s/, '$1');
  const head = [...words.slice(0, at), ...(cluster !== null && cluster !== '-' ? [cluster] : []), ...words.slice(at + 1)];
  const merged: string[] = [...head];
  const mergedGlobs = new Map<number, string>();
  let pastDot = false;
  for (const arg of args.slice(1)) {
    const problem = wordProblem(arg);
    if (problem) return { ok: false, reason: problem.reason, detail: `a protected argument: ${problem.detail}` };
    // An empty argument is sent as "." (send_protected_args).
    if (pastDot && GLOB.test(arg)) mergedGlobs.set(merged.length, arg);
    if (arg === '.') pastDot = true;
    merged.push(arg);
  }
  return { ok: true, words: merged, globs: mergedGlobs };
}
