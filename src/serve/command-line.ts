/**
 * The command= line's flags, the one part of a connection the client does not choose: the
 * identity, the policy, and the modes (--learn, --learn-run: serve/learn-window.ts).
 */
import { DEFAULT_POLICY_PATH } from '../policy/schema.js';
import { learnRunOf, type LearnFlag, type LearnRun } from './learn-window.js';

export interface ForcedArgs {
  identity: string;
  policyPath: string;
  learn: boolean;
  /** --learn-run UNTIL: run what the client sends, in the sandbox, until UNTIL (serve/learn-run.ts); absent: no. */
  learnRun?: LearnRun;
}

/**
 * The command= line's flags: --id ID, --policy PATH (each once, as two words or with "="),
 * --learn, --learn-run UNTIL with --learn-write/--learn-read PATH (repeatable; checked against
 * `now`, the connection's clock). Anything else is an error, since a typo there must not widen
 * anything. --approved (from before every key served the applied policy) is accepted and changes
 * nothing, so that key lines written then keep serving. Parsed by hand: node:util's parseArgs
 * costs every connection most of a millisecond.
 */
export function parseForcedArgs(args: readonly string[], now = new Date()): ForcedArgs | string {
  const values = new Map<string, string>();
  const learning: [LearnFlag, string][] = [];
  let learn = false;
  let approved = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--learn') {
      if (learn) return 'duplicate --learn';
      learn = true;
      continue;
    }
    if (arg === '--approved') {
      if (approved) return 'duplicate --approved';
      approved = true; // every key serves the applied policy now
      continue;
    }
    const match = /^--(id|policy|learn-run|learn-write|learn-read)(?:=(.*))?$/s.exec(arg);
    if (!match) return `unexpected argument ${JSON.stringify(arg)}`;
    const name = match[1]!;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === '' || (match[2] === undefined && value.startsWith('--'))) return `--${name} needs a value`;
    if (name.startsWith('learn-')) {
      learning.push([name as LearnFlag, value]);
      continue;
    }
    if (values.has(name)) return `duplicate --${name}`;
    // Relative, it would be read from the session's working directory, the account's home,
    // which the account itself may write.
    if (name === 'policy' && !value.startsWith('/')) return `--policy ${value}: give an absolute path`;
    values.set(name, value);
  }
  const identity = values.get('id');
  if (identity === undefined) return '--id ID is required';
  const learnRun = learnRunOf(learning, learn, now);
  if (typeof learnRun === 'string') return learnRun;
  // Without --policy: ETC/policies, the --etc install.sh recorded (policy/schema.ts), so key lines need none.
  return { identity, policyPath: values.get('policy') ?? DEFAULT_POLICY_PATH, learn, ...(learnRun ? { learnRun } : {}) };
}
