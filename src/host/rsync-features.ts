/**
 * What the installed rsync supports, asked of the binary itself (`rsync --help`), so that the
 * argv uses --confine-root and --drop-D where rsync >= 3.5.0 has them and stays valid on an
 * older rsync (which lacks those two protections: see README "rsync rules").
 */
import type { HostFacts } from '../rules/kinds.js';
import { looksLikeRsync } from '../rules/rsync/server-args.js';
import { readSpelling } from '../rules/spelling.js';
import { tokenize } from '../request/tokenize.js';
import { NO_RSYNC_FEATURES, type RsyncFeatures } from '../rules/rsync/match.js';
import type { Identity } from '../policy/schema.js';
import { childProcess } from '../lazy-builtins.js';

export function probeRsync(program: string): RsyncFeatures {
  try {
    const result = childProcess().spawnSync(program, ['--help'], { encoding: 'utf8', timeout: 5000, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const help = result.stdout ?? '';
    const version = /rsync\s+version\s+(\S+)/.exec(help)?.[1] ?? null;
    return { version, confineRoot: help.includes('--confine-root'), dropD: help.includes('--drop-D') };
  } catch {
    return NO_RSYNC_FEATURES;
  }
}

/**
 * The facts a decision for `command` can need: rsync features only when the command is an rsync
 * invocation and the identity has rsync rules, so other requests pay nothing for them.
 */
export function gatherHostFacts(identity: Identity | undefined, command: string | null): HostFacts {
  const rsync = new Map<string, RsyncFeatures>();
  const firstWord = command?.trimStart().split(/[ \t]/, 1) ?? [];
  if (identity && (looksLikeRsync(firstWord) || spelledRsync(command))) {
    for (const rule of identity.rules) {
      if (rule.kind === 'rsync' && !rsync.has(rule.program)) rsync.set(rule.program, probeRsync(rule.program));
    }
  }
  return { rsync };
}

/** `sudo -n rsync ...`, `nice -n 19 rsync ...`: served by rsync rules too, so they need the same facts (--confine-root, --drop-D). */
function spelledRsync(command: string | null): boolean {
  const tokens = command === null ? null : tokenize(command);
  if (!tokens?.ok) return false;
  const reading = readSpelling(tokens.words, tokens.globs);
  return reading.kind === 'spelled' && reading.serves === 'rsync';
}
