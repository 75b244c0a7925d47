/**
 * What sshd runs: the forced command of every connection, and the login commands it runs for
 * every key a client offers (AuthorizedKeysCommand, AuthorizedPrincipalsCommand). Built alone
 * into dist/ssh-dispatch-serve.cjs, which the launcher (entry.ts) loads for these argv instead of
 * the whole program (forced-mode.ts, servesConnection): a connection compiles and initialises
 * only what it can use (BENCHMARKS.md, section 12). The whole program (main.ts) runs the same
 * argv through the same functions.
 *
 * No process loads both bundles: the classes matched with instanceof (UsageError) are a copy in
 * each.
 */
import { UsageError } from './args.js';
import { runForcedCommand } from './serve/forced-command.js';
import { runAuthorizedKeysCommand, runAuthorizedPrincipalsCommand } from './serve/login-commands.js';
import { denyToClient, sessionId } from './serve/session.js';
import { tellSyslog } from './audit/sink.js';
import { isForcedCommandMode } from './forced-mode.js';
import { policyParsed } from './policy/load.js';

/** process.execve arrived in Node 22.15 (and 23.11); older runtimes are not supported. */
function runtimeSupported(): boolean {
  return typeof process.execve === 'function';
}

function unsupportedRuntime(): string {
  return `ssh-dispatch needs Node.js >= 22.15; ${process.execPath} is ${process.version}`;
}

/** On a runtime that cannot run ssh-dispatch: a forced command is denied (syslog says why), anything else is told; null on a supported one. */
export function refuseUnsupportedRuntime(forcedCommand: boolean): number | null {
  if (runtimeSupported()) return null;
  if (forcedCommand) return denyUnsupportedRuntime();
  process.stderr.write(`${unsupportedRuntime()}\n`);
  return 2;
}

/** Forced-command mode on a runtime that cannot run it: the client is denied, syslog says why. */
function denyUnsupportedRuntime(): number {
  tellSyslog(`${unsupportedRuntime()}: every request is denied (session ${sessionId()})`);
  return denyToClient();
}

/** Forced-command mode (`run` first or not); its --help is the whole program's (main.ts). */
export function serveForcedCommand(argv: string[]): Promise<number> {
  return runForcedCommand(argv[0] === 'run' ? argv.slice(1) : argv);
}

/** A login command, or null for any other subcommand. Throws UsageError as every subcommand does. */
export function serveLogin(first: string | undefined, rest: string[]): Promise<number> | null {
  if (first === 'authorized-keys-command') return runAuthorizedKeysCommand(rest);
  if (first === 'authorized-principals-command') return runAuthorizedPrincipalsCommand(rest);
  return null;
}

/**
 * How a program run ends. A forced-command session ends here, even with a read of the client's
 * input still pending (an upload stopped by its limits or idle timeout): nothing else is left to
 * do. Any unexpected error there is a deny.
 */
export function finish(forcedCommand: boolean, run: Promise<number>): void {
  run.then(
    (code) => {
      if (forcedCommand) process.exit(code);
      process.exitCode = code;
    },
    (error: unknown) => {
      if (forcedCommand) {
        tellSyslog(`internal error, request denied (session ${sessionId()}): ${(error as Error)?.stack ?? String(error)}`);
        process.exitCode = denyToClient();
      } else {
        process.stderr.write(`ssh-dispatch: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
        process.exitCode = 2;
      }
    },
  );
}

/**
 * `ssh-dispatch logs | head`: the reader has what it wanted. End quietly with 0, as when the
 * output was complete (Node ignores SIGPIPE, so there is no death by signal to imitate, and 141
 * would fail a `set -o pipefail` script for a pipeline that did what it was asked).
 */
export function endQuietlyOnBrokenPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** A subcommand's usage error, as the whole program reports one. */
export function usageFailed(error: UsageError): number {
  process.stderr.write(`ssh-dispatch: ${error.message}\nTry: ssh-dispatch --help\n`);
  return 2;
}

async function serve(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const forcedCommand = isForcedCommandMode(first, process.env);
  const unsupported = refuseUnsupportedRuntime(forcedCommand);
  if (unsupported !== null) return unsupported;
  if (forcedCommand) return serveForcedCommand(argv);
  // No endQuietlyOnBrokenPipe() here: it would make the stdout stream the login commands avoid
  // (serve/output.ts), and they end quietly on EPIPE themselves.
  try {
    const login = serveLogin(first, rest);
    if (login === null) throw new Error(`the serve bundle was started for "${first}", which is not what sshd runs`);
    return await login;
  } catch (error) {
    if (error instanceof UsageError) return usageFailed(error);
    throw error;
  }
}

/**
 * Whether this run is a model for the code cache the launcher makes after it (code-cache.ts): not
 * when it parsed policy YAML, which the next runs will not (they read the compiled policy), and
 * whose code would only make every later start read a cache twice the size.
 */
export function typicalRun(): boolean {
  return !policyParsed;
}

/** The bundle's start, called by the launcher (a bundle that other code imports runs nothing by itself). */
export function start(): void {
  finish(isForcedCommandMode(process.argv[2], process.env), serve(process.argv.slice(2)));
}
