/**
 * How argv says what to run, read by the launcher (which picks the bundle) and by both programs:
 * one definition, so that the launcher never sends a command to a bundle that would read it
 * another way.
 */

/** The commands sshd runs before a login (AuthorizedKeysCommand, AuthorizedPrincipalsCommand). */
export const LOGIN_COMMANDS: readonly string[] = ['authorized-keys-command', 'authorized-principals-command'];

/**
 * `run`, or a flag first (`--id ...`, as command= lines say it): forced-command mode. So is no
 * argument at all when sshd started us (SSH_ORIGINAL_COMMAND or SSH_CONNECTION set: a command=
 * line that names no --id), which must still end in the denial and the syslog line about the
 * bad command= line. No argument anywhere else (a person at a shell, a script) is a usage error.
 * The help and version flags are never forced mode: no command= line says them.
 */
export function isForcedCommandMode(first: string | undefined, env: NodeJS.ProcessEnv): boolean {
  if (first === undefined) return env.SSH_ORIGINAL_COMMAND !== undefined || env.SSH_CONNECTION !== undefined;
  return first === 'run' || (first.startsWith('-') && !['--help', '-h', '--version', '-V'].includes(first));
}

/**
 * What sshd runs, for every connection and every key a client offers: the forced command and the
 * login commands. These load dist/ssh-dispatch-serve.cjs, which holds only them; everything else
 * (and any --help, whose texts the man pages are made from) loads the whole program.
 */
export function servesConnection(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const [first] = argv;
  if (argv.includes('--help') || argv.includes('-h')) return false;
  return isForcedCommandMode(first, env) || LOGIN_COMMANDS.includes(first ?? '');
}
