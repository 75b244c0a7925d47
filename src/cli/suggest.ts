/** `ssh-dispatch suggest --log FILE --id ID`: learned requests → policy YAML on stdout. */
import { accessSync, constants, createReadStream } from 'node:fs';
import { userInfo } from 'node:os';
import { CHILD_PATH } from '../rules/plan.js';
import { suggestPolicy, type LearnedCommand } from '../policy/suggest.js';
import { parseFlags, UsageError } from '../args.js';
import { readRecords } from '../audit/read.js';

export const SUGGEST_HELP = `Usage: ssh-dispatch suggest --log FILE --id ID

Reads the audit log FILE, takes the requests recorded in learn mode for identity ID
(command="ssh-dispatch --id ID --learn" on the key's line), and prints policy YAML that allows
them: rsync server lines as rsync rules (root and access inferred from their paths and
--sender; also behind sudo, nice or ionice, with a CHECK note), other commands as exec rules of
their literal words. It never proposes an exec rule for rsync, sudo, a shell, an interpreter or
an sftp server: those are listed as "not suggested", with the reason. Everything learned is
escaped: what a client sent cannot become YAML or reach the terminal. Read it and narrow it before
use; \`ssh-dispatch check\` and \`explain\` show what it does. Exit status: 0, or 2 on a usage error.`;

function homeOf(user: string): string {
  const self = userInfo();
  if (user === self.username) return self.homedir;
  return user === 'root' ? '/root' : `/home/${user}`;
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
  process.stdout.write(suggestPolicy(values.id, learned, { home: homeOf, which }));
  if (stats.skipped > 0)
    process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) of ${values.log} were not JSON records and were skipped\n`);
  if (learned.length === 0) process.stderr.write(`ssh-dispatch: no learn-mode records for ${values.id} in ${values.log}\n`);
  return 0;
}
