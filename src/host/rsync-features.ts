/**
 * What the installed rsync supports, asked of the binary itself (`rsync --help`), so that the
 * argv uses --confine-root and --drop-D where rsync >= 3.5.0 has them and stays valid on an
 * older rsync (which lacks those two protections: docs/rules/rsync.md).
 */
import { NO_RSYNC_FEATURES, type RsyncFeatures } from '../rules/rsync/features.js';
import { childProcess } from '../lazy-builtins.js';

export function probeRsync(program: string): RsyncFeatures {
  try {
    const result = childProcess().spawnSync(program, ['--help'], {
      encoding: 'utf8',
      timeout: 5000,
      env: { PATH: '/usr/bin:/bin', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const help = result.stdout ?? '';
    const version = /rsync\s+version\s+(\S+)/.exec(help)?.[1] ?? null;
    return { version, confineRoot: help.includes('--confine-root'), dropD: help.includes('--drop-D') };
  } catch {
    return NO_RSYNC_FEATURES;
  }
}
