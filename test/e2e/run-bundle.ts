import { spawnSync } from 'node:child_process';
import { BUNDLE, NODE } from './lab.js';

export interface BundleResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built ssh-dispatch directly, with exactly the environment given, in a session and
 * process group of its own (as sshd starts it), so that signals to its group stay there.
 */
export function runBundle(args: string[], env: NodeJS.ProcessEnv = {}, input?: string, wrapper?: string): BundleResult {
  // A wrapper (setpriv, to run as another account) takes its own arguments, then `--` and ours.
  const split = wrapper ? args.indexOf('--') : -1;
  const command = wrapper ? [wrapper, ...args.slice(0, split), NODE, BUNDLE, ...args.slice(split + 1)] : [NODE, BUNDLE, ...args];
  const result = spawnSync('/usr/bin/setsid', ['--wait', ...command], {
    env: { PATH: '/usr/bin:/bin', ...env },
    input,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
