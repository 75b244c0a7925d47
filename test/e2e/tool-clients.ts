/**
 * What the recipes' end-to-end tests (recipes-tools, recipes-hostile) share: the backup tools'
 * clients started against a lab's sshd with a clean environment, and a repository's files by size.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SSH, type ClientKey, type ThrowawaySshd } from '../../src/lab/throwaway-sshd.js';

/** ssh's command line for clients that take one string (BORG_RSH, GIT_SSH_COMMAND, rclone.program): the options, not the destination. */
export function sshCommand(sshd: ThrowawaySshd, key: ClientKey): { command: string; host: string } {
  const args = sshd.sshArgs(key);
  const host = args.pop()!;
  return { command: [SSH, ...args].join(' '), host };
}

/** A client's environment: no agent, no runner's variables, HOME in the lab. */
export function clientEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', ...extra };
}

export function runTool(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeout = 25_000,
): { code: number | null; out: string } {
  const result: SpawnSyncReturns<string> = spawnSync(program, args, { cwd, env, encoding: 'utf8', timeout });
  return { code: result.status, out: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}` };
}

/** Every regular file under `dir` with its size. */
export function sizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.set(full.slice(dir.length + 1), statSync(full).size);
    }
  };
  walk(dir);
  return out;
}
