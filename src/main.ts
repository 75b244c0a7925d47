/**
 * ssh-dispatch: argv → subcommand. With serve-main.ts's finish(), the only place that sets the
 * exit status. (entry.ts, the file sshd runs, loads this after guarding signals and enabling the
 * compile cache; for what sshd runs, it loads the serve bundle instead.)
 *
 * With no subcommand (or `run`) this is the forced-command mode that sshd starts for every
 * connection; any unexpected error there is a deny.
 */
import { UsageError } from './args.js';
import { isForcedCommandMode } from './forced-mode.js';
import { endQuietlyOnBrokenPipe, finish, refuseUnsupportedRuntime, serveForcedCommand, serveLogin, usageFailed } from './serve-main.js';

// What sshd runs (the forced command, the login commands) is serve-main.ts's, which the launcher
// loads as a bundle of its own for those argv; what only people run is loaded on demand.

const HELP = `Usage: ssh-dispatch [run] --id ID [--policy PATH]     forced-command mode (for authorized_keys)
       ssh-dispatch explain --id ID [...] -- 'COMMAND'   the decision COMMAND would get
       ssh-dispatch check [--policy PATH]              load and check the policy files (no side effect)
       ssh-dispatch apply [--policy PATH]              check, then serve the files as a new version
       ssh-dispatch rollback [--to VERSION]            serve an earlier version again
       ssh-dispatch history [--policy PATH]            the applied versions; which one is served
       ssh-dispatch reapply [--adopt]                  re-validate the served version (after upgrades)
       ssh-dispatch authorized-key --id ID [...] KEY.pub   the authorized_keys line for a key
       ssh-dispatch authorized-keys-command USER TYPE KEY   sshd's AuthorizedKeysCommand (%u %t %k)
       ssh-dispatch authorized-principals-command USER      sshd's AuthorizedPrincipalsCommand (%u)
       ssh-dispatch suggest --log FILE --id ID         rules for what a --learn run recorded
       ssh-dispatch logs [--since 24h] [--id ID] [--decision deny] [--follow] [--json]
       ssh-dispatch summary [--since 7d]               per identity and rule: allowed, denied, failed
       ssh-dispatch replay [--days 7]                  the recorded requests an edited policy would decide otherwise
       ssh-dispatch status [--stale 26h]               a monitoring plugin: the rules with expect-every (0-3)
       ssh-dispatch demo                               a live demo through a throwaway sshd
       ssh-dispatch SUBCOMMAND --help                  help for one subcommand
       ssh-dispatch --version | -V                     the version, build and Node.js runtime

In authorized_keys (one line):
  restrict,command="/usr/local/bin/ssh-dispatch --id host1-backup" ssh-ed25519 AAAA... host1

Forced-command mode reads SSH_ORIGINAL_COMMAND, matches it against the identity's rules in the
policy (default /etc/ssh-dispatch/policies, or ETC/policies after install.sh --etc ETC), runs it without a shell or refuses it, and appends
an audit record either way. A refused client sees "ssh-dispatch: refused by the server's policy
(session ID); ask its administrator" and exit 126; "ssh-dispatch logs --session ID" finds the
record (with tell-client: reason on the identity, the line also names the reason).

Without arguments, outside an SSH session this prints the usage and exits 2; in one (sshd sets
SSH_CONNECTION), it is a command= line without --id, and every request is denied.`;

const RUN_HELP = `Usage: ssh-dispatch [run] --id ID [--policy PATH] [--learn]
       ssh-dispatch [run] --id ID [--policy PATH] --learn-run UNTIL [--learn-write PATH]...
                          [--learn-read PATH]...

Forced-command mode, for the command= option of an authorized_keys line. The identity (--id)
and the policy (--policy, default /etc/ssh-dispatch/policies, or ETC/policies after
install.sh --etc ETC) come only from this command line.
--learn records what the client sends (decision "learn", and what the policy would say) and
runs nothing: "ssh-dispatch suggest" turns those records into rules.
--learn-run UNTIL records the same, and until UNTIL (an absolute UTC time such as
2026-12-09T06:00Z, at most 7 days after the connection) also runs the command: its words by
execve, never a shell, in the sandbox where only the --learn-write paths are writable and the
--learn-read paths readable (absolute paths, repeatable); stopped at UNTIL; after UNTIL it runs
nothing. A malformed or too distant UNTIL, a relative path or --learn with it: every request is
denied. "ssh-dispatch check --authorized-keys FILE" calls an open window UNSAFE.
Keys serve the policy's applied version ("ssh-dispatch apply"), whatever the files say now; with
none applied, every request is denied (reason policy-not-applied). --approved, from before
apply existed, is accepted and changes nothing.
Exit status: the program's own; 126 when the request is denied (or learned); 127 when it could
not start.`;

declare const SSH_DISPATCH_VERSION: string | undefined;
declare const SSH_DISPATCH_BUILD_ID: string | undefined;

function versionLine(): string {
  const version = typeof SSH_DISPATCH_VERSION === 'string' ? SSH_DISPATCH_VERSION : 'unbundled';
  const build = typeof SSH_DISPATCH_BUILD_ID === 'string' ? SSH_DISPATCH_BUILD_ID : 'unbundled';
  return `ssh-dispatch ${version} (build ${build}) on Node.js ${process.version}`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const forcedCommand = isForcedCommandMode(first, process.env);
  const unsupported = refuseUnsupportedRuntime(forcedCommand);
  if (unsupported !== null) return unsupported;
  if (forcedCommand) {
    if ((first === 'run' ? rest : argv).includes('--help')) {
      console.log(RUN_HELP);
      return 0;
    }
    return serveForcedCommand(argv);
  }
  endQuietlyOnBrokenPipe();
  try {
    const login = serveLogin(first, rest);
    if (login !== null) return await login;
    return await runSubcommand(first, rest);
  } catch (error) {
    if (error instanceof UsageError) return usageFailed(error);
    throw error;
  }
}

/** An admin subcommand, its module loaded only when it is the one asked for. */
async function runSubcommand(first: string | undefined, rest: string[]): Promise<number> {
  switch (first) {
    case 'explain':
      return await (await import('./cli/explain.js')).runExplain(rest);
    case 'check':
      return await (await import('./cli/check.js')).runCheck(rest);
    case 'apply':
      return await (await import('./cli/apply.js')).runApply(rest);
    case 'rollback':
      return await (await import('./cli/apply.js')).runRollback(rest);
    case 'reapply':
      return await (await import('./cli/apply.js')).runReapply(rest);
    case 'history':
      return await (await import('./cli/history.js')).runHistory(rest);
    case 'authorized-key':
      return await (await import('./cli/authorized-key.js')).runAuthorizedKey(rest);
    case 'suggest':
      return await (await import('./cli/suggest.js')).runSuggest(rest);
    case 'logs':
      return await (await import('./cli/logs.js')).runLogs(rest);
    case 'summary':
      return await (await import('./cli/summary.js')).runSummary(rest);
    case 'replay':
      return await (await import('./cli/replay.js')).runReplay(rest);
    case 'status':
      return await (await import('./cli/status.js')).runStatus(rest);
    case 'demo': {
      const { DEMO_HELP, runDemo } = await import('./cli/demo.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(DEMO_HELP);
        return 0;
      }
      if (rest.length > 0) throw new UsageError(`demo takes no arguments, got ${rest.join(' ')}`);
      return await runDemo();
    }
    case 'version':
    case '--version':
    case '-V':
      if (rest.length > 0) throw new UsageError(`${first} takes no arguments, got ${rest.join(' ')}`);
      console.log(versionLine());
      return 0;
    case 'help':
    case '--help':
    case '-h':
      if (rest.length > 0)
        throw new UsageError(
          `${first} takes no arguments, got ${rest.join(' ')}; for one subcommand's help: ssh-dispatch SUBCOMMAND --help`,
        );
      console.log(HELP);
      return 0;
    case undefined:
      // Not started by sshd (isForcedCommandMode): someone who wants to know what this is.
      process.stderr.write(`${HELP}\n`);
      return 2;
    default:
      throw new UsageError(`unknown subcommand "${first}"`);
  }
}

finish(isForcedCommandMode(process.argv[2], process.env), main(process.argv.slice(2)));
