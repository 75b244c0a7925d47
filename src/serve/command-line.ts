/**
 * The command= line's flags, the one part of a connection the client does not choose: the
 * identity, the policy, and the mode (--learn).
 */
import { DEFAULT_POLICY_PATH } from '../policy/schema.js';

export interface ForcedArgs {
  identity: string;
  policyPath: string;
  learn: boolean;
}

/**
 * The command= line's flags: --id ID, --policy PATH (each once, as two words or with "="),
 * --learn. Anything else is an error, since a typo there must not widen anything. --approved
 * (from before every key served the applied policy) is accepted and changes nothing, so that
 * key lines written then keep serving. Parsed by hand: node:util's parseArgs costs every
 * connection most of a millisecond.
 */
export function parseForcedArgs(args: readonly string[]): ForcedArgs | string {
  const values = new Map<string, string>();
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
    const match = /^--(id|policy)(?:=(.*))?$/s.exec(arg);
    if (!match) return `unexpected argument ${JSON.stringify(arg)}`;
    const name = match[1]!;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === '' || (match[2] === undefined && value.startsWith('--'))) return `--${name} needs a value`;
    if (values.has(name)) return `duplicate --${name}`;
    // Relative, it would be read from the session's working directory, the account's home,
    // which the account itself may write.
    if (name === 'policy' && !value.startsWith('/')) return `--policy ${value}: give an absolute path`;
    values.set(name, value);
  }
  const identity = values.get('id');
  if (identity === undefined) return '--id ID is required';
  // Without --policy: ETC/policies, the --etc install.sh recorded (policy/schema.ts), so key lines need none.
  return { identity, policyPath: values.get('policy') ?? DEFAULT_POLICY_PATH, learn };
}
