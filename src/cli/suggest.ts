/** `ssh-dispatch suggest --log FILE --id ID`: learned requests → policy YAML on stdout. */
import { accessSync, constants, createReadStream } from 'node:fs';
import { childProcess } from '../lazy-builtins.js';
import { parsePasswd, readAccounts } from '../host/accounts.js';
import { CHILD_PATH } from '../rules/plan.js';
import { suggestPolicy, type LearnedCommand } from '../policy/suggest.js';
import { parseFlags, UsageError } from '../args.js';
import { readRecords } from '../audit/read.js';
import { printable } from '../values/printable.js';

export const SUGGEST_HELP = `Usage: ssh-dispatch suggest --log FILE --id ID

Reads the audit log FILE, takes the requests recorded in learn mode for identity ID
(command="ssh-dispatch --id ID --learn", or --learn-run, on the key's line), and prints policy
YAML that allows them: rsync server lines as rsync rules (root and access inferred from their
paths and --sender; also behind sudo, nice or ionice, with a CHECK note), other commands as exec
rules of their literal words. It never proposes an exec rule for rsync, sudo, a shell, an
interpreter or an sftp server: those are listed as "not suggested", with the reason. Everything
learned is escaped: what a client sent cannot become YAML or reach the terminal. Read it and
narrow it before use; \`ssh-dispatch check\` and \`explain\` show what it does. A relative path
is taken under the account's home as NSS has it (getent passwd). Exit status: 0; 1 when a
relative path was learned for an account this host does not know (no home to resolve it under:
nothing is printed); 2 on a usage error.`;

/**
 * The account's home as NSS has it (`getent passwd USER`: /etc/passwd, LDAP, SSSD, userdb), where
 * a learned relative path was resolved: Debian's backup account lives in /var/backups, not
 * /home/backup (issue 27). /etc/passwd when getent cannot be run; null when neither knows it.
 */
export function accountHome(user: string, getent = 'getent'): string | null {
  const result = childProcess().spawnSync(getent, ['passwd', '--', user], { encoding: 'utf8', timeout: 10_000 });
  const listed = result.error === undefined && result.status === 0 ? parsePasswd(result.stdout) : result.error ? readAccounts() : [];
  return listed.find((account) => account.user === user)?.home ?? null;
}

/** The home of each account asked for, looked up once; the accounts unknown here are collected in `unknown`. */
function homes(unknown: Set<string>, getent?: string): (user: string) => string {
  const known = new Map<string, string | null>();
  return (user) => {
    if (!known.has(user)) known.set(user, accountHome(user, getent));
    const home = known.get(user);
    if (home) return home;
    unknown.add(user);
    return `/nonexistent-home-of-${user}`;
  };
}

function which(program: string): string | null {
  if (program.includes('/')) return null;
  for (const dir of CHILD_PATH.split(':')) {
    try {
      accessSync(`${dir}/${program}`, constants.X_OK);
      return `${dir}/${program}`;
    } catch {
      // not here
    }
  }
  return null;
}

export async function runSuggest(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { log: { type: 'string' }, id: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(SUGGEST_HELP);
    return 0;
  }
  if (!values.log) throw new UsageError('--log FILE is required (the audit log of the learn-mode runs)');
  if (!values.id) throw new UsageError('--id ID is required');
  const learned: LearnedCommand[] = [];
  const stats = { skipped: 0 };
  const input = createReadStream(values.log, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new UsageError(`cannot read ${values.log}: ${(error as NodeJS.ErrnoException).code}`);
  }
  input.destroy();
  for await (const record of readRecords([values.log], stats)) {
    if (record.event === 'decision' && record.decision === 'learn' && record.id === values.id && typeof record.command === 'string') {
      learned.push({
        command: record.command,
        user: record.user ?? '',
        ...(record.protected_args ? { protectedArgs: record.protected_args } : {}),
      });
    }
  }
  const unknown = new Set<string>();
  const yaml = suggestPolicy(values.id, learned, { home: homes(unknown), which });
  if (unknown.size > 0) {
    // Relative paths were resolved under a home NSS does not know: a guess would make rules for the wrong paths.
    const users = [...unknown].map((user) => `"${printable(user)}"`).join(', ');
    process.stderr.write(
      `ssh-dispatch: no home for account(s) ${users} (getent passwd knows none): their relative paths cannot be resolved; run suggest on the host where they were learned\n`,
    );
    return 1;
  }
  process.stdout.write(yaml);
  if (stats.skipped > 0)
    process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) of ${values.log} were not JSON records and were skipped\n`);
  if (learned.length === 0) process.stderr.write(`ssh-dispatch: no learn-mode records for ${values.id} in ${values.log}\n`);
  return 0;
}
