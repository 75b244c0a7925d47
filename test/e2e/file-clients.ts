/**
 * OpenSSH's sftp and scp against a lab's sshd, run in a local directory: what the sftp rule's
 * end-to-end tests drive.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientKey, ThrowawaySshd } from '../../src/lab/throwaway-sshd.js';

export interface ClientResult {
  code: number | null;
  out: string;
}

export function fileClients(sshd: () => ThrowawaySshd, local: () => string) {
  /** ssh's options as sftp and scp take them (-P for the port) and the destination. */
  const clientOptions = (key: ClientKey): { options: string[]; host: string } => {
    const args = sshd().sshArgs(key);
    const host = args.pop()!;
    return { options: args.map((a) => (a === '-p' ? '-P' : a)), host };
  };
  /** sftp in batch mode with `commands`. */
  const sftp = (key: ClientKey, commands: string[]): ClientResult => {
    const batch = join(local(), 'batch');
    writeFileSync(batch, `${commands.join('\n')}\n`);
    const { options, host } = clientOptions(key);
    const result = spawnSync('/usr/bin/sftp', [...options, '-b', batch, host], { cwd: local(), encoding: 'utf8', timeout: 30_000 });
    return { code: result.status, out: result.stdout + result.stderr };
  };
  /** scp with `args`, where `HOST:` stands for the lab's destination. */
  const scp = (key: ClientKey, args: string[]): ClientResult => {
    const { options, host } = clientOptions(key);
    const result = spawnSync('/usr/bin/scp', [...options, ...args.map((a) => a.replace('HOST:', `${host}:`))], {
      cwd: local(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: result.status, out: result.stdout + result.stderr };
  };
  return { clientOptions, sftp, scp };
}
