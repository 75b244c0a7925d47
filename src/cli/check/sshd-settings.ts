/** sshd's effective settings, as `sshd -T` prints them. */
import { childProcess } from '../../lazy-builtins.js';

/** sshd -T's settings (for the connection `-C` describes, Match blocks applied), or why not. */
export function readSshdSettings(configFile: string | undefined, connection?: string): Map<string, string[]> | string {
  const result = childProcess().spawnSync(
    '/usr/sbin/sshd',
    ['-T', ...(configFile ? ['-f', configFile] : []), ...(connection ? ['-C', connection] : [])],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (result.status !== 0) return (result.stderr ?? '').trim().split('\n')[0] || 'failed';
  const settings = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const [key, ...value] = line.trim().split(/\s+/);
    if (key) settings.set(key.toLowerCase(), [...(settings.get(key.toLowerCase()) ?? []), value.join(' ')]);
  }
  return settings;
}
