/**
 * Where install.sh put the configuration and the logs (its --etc and --log-dir), so that the
 * installed command needs no --policy: install.sh writes them to `installed.conf` beside the
 * bundle, the launcher (entry.ts) reads and checks that file once per start, before the program
 * loads, and hands the result over here; the defaults in policy/schema.ts read it. Pure (no I/O):
 * the launcher does the reading. Without the launcher (tests, the bundles run directly) nothing
 * is handed over and the built-in defaults hold.
 */

/** The file's name, beside the launcher (PREFIX/lib/ssh-dispatch/installed.conf). */
export const INSTALLED_FILE = 'installed.conf';

export interface Installed {
  /** --etc: the policies are ETC/policies. */
  etc: string;
  /** --log-dir: the default audit log is LOG_DIR/audit.jsonl. */
  logDir: string;
}

/** A property of the process's global object: only code in the process sets it, never a client. */
const KEY = Symbol.for('ssh-dispatch.installed');

export function handOver(settings: Installed): void {
  (globalThis as Record<symbol, unknown>)[KEY] = settings;
}

export function installedSettings(): Installed | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as Installed | undefined;
}

/**
 * `etc=DIR` and `log-dir=DIR` lines, each exactly once, absolute; # comments. Anything else is
 * an error: a file that says something else than it seems to must not pick the policy.
 */
export function parseInstalled(text: string): Installed | string {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(etc|log-dir)=(\/.*)$/.exec(line);
    if (!match) return `unexpected line ${JSON.stringify(line)} (expected etc=/DIR or log-dir=/DIR)`;
    if (values.has(match[1]!)) return `${match[1]} is given twice`;
    values.set(match[1]!, match[2]!.replace(/(.)\/+$/, '$1'));
  }
  const etc = values.get('etc');
  const logDir = values.get('log-dir');
  if (etc === undefined || logDir === undefined) return 'it must give both etc= and log-dir=';
  return { etc, logDir };
}
