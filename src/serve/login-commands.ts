/**
 * `ssh-dispatch authorized-keys-command` and `authorized-principals-command`: sshd's
 * AuthorizedKeysCommand and AuthorizedPrincipalsCommand, so that the policy is the only list of
 * who may log in (docs/fleet.md). Each prints authorized_keys lines (or principals lines) whose
 * command= runs ssh-dispatch with the identity that lists the key or principal, and nothing for
 * anyone else.
 *
 * sshd runs the keys command for every key a client offers, before authentication: it has to be
 * quick (the login index is one cached file: policy/logins.ts) and it fails closed. Any doubt (a
 * policy that does not load, a malformed key, arguments that are not sshd's) prints nothing and
 * exits non-zero, and sshd then accepts no line from it at all.
 */
import { forcedCommand, hopOptions, keyLine, principalLine } from '../keyline.js';
import { parseKeyText } from '../request/ssh-key.js';
import { loadLogins } from '../policy/load.js';
import type { LoginLookup } from '../policy/cache.js';
import { loginsByKey, loginsByPrincipal, type Login } from '../policy/logins.js';
import { ACCOUNT_NAME, DEFAULT_POLICY_PATH } from '../policy/schema.js';
import { formatPolicyError } from '../values/policy-error.js';
import { tellSyslog } from '../audit/sink.js';
import { absolutePath, dispatchProgram, UsageError } from '../args.js';
import { writeStdout } from './output.js';

const COMMON_FLAGS = `  --policy PATH   the policy (default ${DEFAULT_POLICY_PATH}); also put in each command= line
  --command 'PATH'
                  what command= runs, default this runtime and launcher; use the installed
                  path, such as /usr/local/bin/ssh-dispatch`;

export const AUTHORIZED_KEYS_COMMAND_HELP = `Usage: ssh-dispatch authorized-keys-command [--policy PATH] [--command 'PATH'] USER TYPE KEY

For sshd_config (ssh-dispatch authorized-key --sshd-config prints these lines):
  AuthorizedKeysFile none
  AuthorizedKeysCommand /usr/local/bin/ssh-dispatch authorized-keys-command %u %t %k
  AuthorizedKeysCommandUser ssh-dispatch

Prints one authorized_keys line for each identity whose keys: lists KEY (of type TYPE) and whose
accounts: lists USER, in policy order:

  restrict,from="ADDR,...",command="RUNTIME LAUNCHER --id ID" TYPE KEY

and nothing for any other key. An identity with relay rules also gets port-forwarding, one
permitopen="HOST:PORT" per destination of them and permitlisten="NONE:1" (no listener), so that
ssh -W and ProxyJump reach what nc %h %p through ssh-dispatch does (authorized-key --help). sshd uses the first line whose from= admits the client. An
identity with principals: is served to certificates only (authorized-principals-command), and
one past its expires date not at all.

${COMMON_FLAGS}

Exit status: 0 (with or without lines), 1 when the policy does not load (the reason goes to
syslog; sshd accepts no key), 2 on a usage error.`;

export const AUTHORIZED_PRINCIPALS_COMMAND_HELP = `Usage: ssh-dispatch authorized-principals-command [--policy PATH] [--command 'PATH'] USER

For sshd_config, beside TrustedUserCAKeys (ssh-dispatch authorized-key --sshd-config --ca FILE
prints these lines):
  AuthorizedPrincipalsCommand /usr/local/bin/ssh-dispatch authorized-principals-command %u
  AuthorizedPrincipalsCommandUser ssh-dispatch

Prints one line for each principal of each identity with principals: whose accounts: lists
USER, in policy order:

  restrict,from="ADDR,...",command="RUNTIME LAUNCHER --id ID" PRINCIPAL

sshd accepts a user certificate, signed by a CA in TrustedUserCAKeys and valid now, that names
one of them, with that line's options. In the session, ssh-dispatch checks the certificate's
principal and validity again (ExposeAuthInfo yes) and records its key id and serial.

${COMMON_FLAGS}

Exit status: 0, 1 when the policy does not load (the reason goes to syslog), 2 on a usage error.`;

interface LoginArgs {
  policy: string | null;
  command: string | null;
  help: boolean;
  positionals: string[];
}

/** Parsed by hand: node:util's parseArgs costs most of a millisecond, and sshd runs this for every key offered. */
function parseLoginArgs(args: readonly string[]): LoginArgs {
  const out: LoginArgs = { policy: null, command: null, help: false, positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') out.help = true;
    else if (arg === '--approved')
      continue; // from before apply: every login serves the applied policy now
    else if (/^--(policy|command)(=|$)/.test(arg)) {
      const name = arg.slice(2).split('=')[0]!;
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      if (name === 'policy') out.policy = absolutePath('policy', value);
      else out.command = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else out.positionals.push(arg);
  }
  return out;
}

/** A command= line's words around the identity: the program, then --id ID, then these flags. */
interface CommandWords {
  program: string[];
  flags: string[];
}

/**
 * The words every command= line is made of, checked before any key is looked at: a word that
 * cannot go into command= would fail every listed key, so it must fail the unlisted key that
 * `check` tries the command with too.
 */
function commandWords(args: LoginArgs): CommandWords {
  const program = dispatchProgram(args.command);
  const flags = args.policy !== null ? ['--policy', args.policy] : [];
  try {
    forcedCommand([...program, ...flags]);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { program, flags };
}

/**
 * The options and forced command of a served identity's line: with relay destinations, what
 * `ssh -W` may open (keyline.ts hopOptions), the same list `nc %h %p` is held to.
 */
function lineFor(login: Login, words: CommandWords): { options: string[]; command: string[] } {
  return {
    options: ['restrict', ...(login.from !== null ? [`from="${login.from.join(',')}"`] : []), ...hopOptions(login.open)],
    command: [...words.program, '--id', login.identity, ...words.flags],
  };
}

async function logins(args: LoginArgs, lookup: LoginLookup, what: string): Promise<Awaited<ReturnType<typeof loadLogins>>> {
  const loaded = await loadLogins(args.policy ?? DEFAULT_POLICY_PATH, lookup);
  if (!loaded.ok)
    tellSyslog(
      `${what}: no applied policy can be read, no key is accepted: ${loaded.errors.map(formatPolicyError).slice(0, 3).join('; ')}`,
    );
  return loaded;
}

export async function runAuthorizedKeysCommand(argv: string[]): Promise<number> {
  const args = parseLoginArgs(argv);
  if (args.help) {
    console.log(AUTHORIZED_KEYS_COMMAND_HELP);
    return 0;
  }
  if (args.positionals.length !== 3) throw new UsageError('give USER TYPE KEY, as sshd passes them with %u %t %k');
  const words = commandWords(args);
  const [user, type, base64] = args.positionals as [string, string, string];
  // Certificates are the principals command's; a key that does not parse is nobody's.
  const key = ACCOUNT_NAME.test(user) ? parseKeyText(type, base64) : null;
  if (key === null || key.certificate !== null) return 0;
  const loaded = await logins(args, { account: user, fingerprint: key.fingerprint }, 'authorized-keys-command');
  if (!loaded.ok) return 1;
  const lines = loginsByKey(loaded.logins, user, key.fingerprint, new Date()).map((login) =>
    keyLine({ ...lineFor(login, words), publicKey: `${type} ${base64}` }),
  );
  if (lines.length > 0) writeStdout(`${lines.join('\n')}\n`);
  return 0;
}

export async function runAuthorizedPrincipalsCommand(argv: string[]): Promise<number> {
  const args = parseLoginArgs(argv);
  if (args.help) {
    console.log(AUTHORIZED_PRINCIPALS_COMMAND_HELP);
    return 0;
  }
  if (args.positionals.length !== 1) throw new UsageError('give USER, as sshd passes it with %u');
  const words = commandWords(args);
  const [user] = args.positionals as [string];
  if (!ACCOUNT_NAME.test(user)) return 0;
  const loaded = await logins(args, { account: user, principals: true }, 'authorized-principals-command');
  if (!loaded.ok) return 1;
  const lines = loginsByPrincipal(loaded.logins, user, new Date()).flatMap((login) =>
    login.principals!.map((principal) => principalLine({ ...lineFor(login, words), principal })),
  );
  if (lines.length > 0) writeStdout(`${lines.join('\n')}\n`);
  return 0;
}
