/** `ssh-dispatch authorized-key`: prints the authorized_keys line for a key and an identity. */
import { readFileSync } from 'node:fs';
import { parseAddressRange } from '../values/address.js';
import { formatPolicyError } from '../values/policy-error.js';
import { identityHops, type Hops } from '../rules/hops.js';
import { hopOptions, keyLine, publicKeyFrom } from '../keyline.js';
import { loadApplied } from '../policy/load.js';
import { ACCOUNT_NAME, DEFAULT_POLICY_PATH, NAME_PATTERN } from '../policy/schema.js';
import { absolutePath, dispatchProgram, parseFlags, UsageError } from '../args.js';

export const AUTHORIZED_KEY_HELP = `Usage: ssh-dispatch authorized-key --id ID [--from ADDR]... [--policy PATH]
                                  [--tunnel-only] [--command 'PATH'] PUBKEY_FILE
       ssh-dispatch authorized-key --sshd-config [--ca FILE] [--user NAME] [--policy PATH]
                                  [--command 'PATH'] [--match-user LIST]

Prints the line to add to ~/.ssh/authorized_keys for the public key in PUBKEY_FILE, so that the
key can do only what identity ID may:

  restrict,from="ADDR,...",command="RUNTIME LAUNCHER --id ID" ssh-ed25519 AAAA... comment

For an identity with relay rules, the line also lets sshd open those destinations itself, for
\`ssh -W\`, ProxyJump and \`ssh -L\` (which never reach ssh-dispatch), and no listener (\`ssh -R\`):

  restrict,port-forwarding,permitopen="db.internal:22",permitlisten="NONE:1",command=...

so that \`nc %h %p\` through ssh-dispatch and \`ssh -W\` reach the same list, read from the
applied version of the policy (PATH, or the default). A destination that is a range (10.0.0.0/24:22) cannot be said to sshd:
\`ssh -W\` cannot reach it (stderr says so), \`nc %h %p\` can. Unix-socket forwarding (\`ssh -R
/path:...\`) is sshd_config's: AllowStreamLocalForwarding no (docs/rules/relay.md).

  --id ID                the identity in the policy (required)
  --from ADDR            restrict the key to client addresses (IP or CIDR; repeatable)
  --policy PATH          read the relay rules here, and add --policy PATH to the command
                         (default: ssh-dispatch's own default)
  --tunnel-only          refuse to print a line that opens nothing (a key for \`ssh -N -L\`)
  --permit-open H:P      deprecated: only these of ID's relay destinations (repeatable); one
                         that is not among them is refused
  --command 'PATH'       what command= runs, default this runtime and launcher
                         (${process.execPath} ...); use the installed path, such as
                         /usr/local/bin/ssh-dispatch

\`restrict\` turns off agent, port and X11 forwarding, the pty and ~/.ssh/rc: a forwarded agent
on a gateway is a way to steal the client's identity.

With --sshd-config it prints instead the sshd_config lines that make the policy the only list
of keys (docs/fleet.md): no authorized_keys files, sshd asks \`ssh-dispatch
authorized-keys-command\` about each key offered, and shows the session the key that logged in
(ExposeAuthInfo, which keys:, principals: and the certificate record need).

  --ca FILE              also accept OpenSSH user certificates signed by the CA keys in FILE
                         (TrustedUserCAKeys), for identities with principals:, through
                         \`ssh-dispatch authorized-principals-command\`
  --user NAME            the account sshd runs the commands as (default ssh-dispatch; install.sh
                         --commands-user NAME creates it): a dedicated one, since any process of
                         the same account could tamper with the answer
  --match-user LIST      only for these accounts (comma-separated): the lines as a Match User
                         block, for the end of sshd_config; other accounts keep their
                         authorized_keys (administrators' own keys, say)

The key serves the policy's applied version ("ssh-dispatch apply"), never the files as they
are, and the relay destinations are read from it: a note on stderr says when ID is not in the
served version, or nothing is applied yet.

Exit status: 0, or 2 on a usage error.`;

/** The account sshd runs the login commands as, unless told otherwise: a dedicated one (install.sh --commands-user). */
export const DEFAULT_COMMANDS_USER = 'ssh-dispatch';

export interface SshdConfigOptions {
  ca: string | null;
  user: string;
  policy: string | null;
  command: string | null;
  /** Only these accounts: the lines as a Match User block. */
  matchUsers?: string[] | null;
}

/**
 * sshd_config for the policy as the only list of keys. sshd runs the commands with execve, no
 * shell: its first word must be an absolute path that root owns and nobody else may write, up to /
 * (auth.c safe_path); its environment holds only PATH, USER, LOGNAME and HOME (misc.c subprocess).
 */
export function sshdConfigLines(options: SshdConfigOptions): string[] {
  if (!ACCOUNT_NAME.test(options.user)) throw new UsageError(`--user ${options.user}: expected an account name`);
  if (options.ca !== null) absolutePath('ca', options.ca, 'give an absolute path (sshd reads it)');
  if (options.policy !== null) absolutePath('policy', options.policy);
  const base = dispatchProgram(options.command, 'sshd needs an absolute path');
  const flags = options.policy !== null ? ['--policy', options.policy] : [];
  const line = (words: string[]) => {
    for (const word of words)
      if (!/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) throw new UsageError(`cannot put ${JSON.stringify(word)} in sshd_config safely`);
    return words.join(' ');
  };
  // The principals command before the keys command: OpenSSH before 9.4 silently drops an
  // AuthorizedPrincipalsCommand written after AuthorizedKeysCommand (bz3574; Debian 12 has 9.2),
  // and a trusted CA without it lets a certificate naming an account into that account's shell.
  const lines = [
    'AuthorizedKeysFile none',
    ...(options.ca !== null
      ? [
          '# before AuthorizedKeysCommand: OpenSSH < 9.4 ignores it after (bz3574)',
          `AuthorizedPrincipalsCommand ${line([...base, 'authorized-principals-command', ...flags, '%u'])}`,
          `AuthorizedPrincipalsCommandUser ${options.user}`,
          `TrustedUserCAKeys ${line([options.ca])}`,
        ]
      : []),
    `AuthorizedKeysCommand ${line([...base, 'authorized-keys-command', ...flags, '%u', '%t', '%k'])}`,
    `AuthorizedKeysCommandUser ${options.user}`,
    'ExposeAuthInfo yes',
  ];
  const matchUsers = options.matchUsers ?? null;
  if (matchUsers === null) return ['# ssh-dispatch: the policy is the only list of keys (docs/fleet.md)', ...lines];
  for (const account of matchUsers)
    if (!ACCOUNT_NAME.test(account)) throw new UsageError(`--match-user ${account}: expected account names, comma-separated`);
  return [
    `# ssh-dispatch: the policy is the only list of keys of ${matchUsers.join(', ')} (docs/fleet.md).`,
    '# At the end of sshd_config: a Match block runs to the next Match or the end of the file.',
    `Match User ${matchUsers.join(',')}`,
    ...lines.map((l) => `    ${l}`),
  ];
}

export async function runAuthorizedKey(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      id: { type: 'string' },
      from: { type: 'string', multiple: true },
      policy: { type: 'string' },
      'permit-open': { type: 'string', multiple: true },
      'tunnel-only': { type: 'boolean' },
      command: { type: 'string' },
      'sshd-config': { type: 'boolean' },
      ca: { type: 'string' },
      user: { type: 'string' },
      'match-user': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    console.log(AUTHORIZED_KEY_HELP);
    return 0;
  }
  if (values['sshd-config']) {
    for (const flag of ['id', 'from', 'permit-open', 'tunnel-only'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--sshd-config takes no --${flag}`);
    if (positionals.length > 0) throw new UsageError('--sshd-config takes no key file');
    console.log(
      sshdConfigLines({
        ca: values.ca ?? null,
        user: values.user ?? DEFAULT_COMMANDS_USER,
        policy: values.policy ?? null,
        command: values.command ?? null,
        matchUsers: values['match-user']?.split(',') ?? null,
      }).join('\n'),
    );
    return 0;
  }
  for (const flag of ['ca', 'user', 'match-user'] as const)
    if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --sshd-config`);
  if (!values.id || !NAME_PATTERN.test(values.id)) throw new UsageError('--id ID is required (a name of letters, digits and . _ @ -)');
  if (positionals.length !== 1) throw new UsageError('give one public key file');
  if (values.policy !== undefined) absolutePath('policy', values.policy);
  const base = dispatchProgram(values.command);
  const publicKey = readPublicKey(positionals[0]!);
  for (const from of values.from ?? [])
    if (!parseAddressRange(from)) throw new UsageError(`--from ${from}: expected an IP address or CIDR`);
  const open = chosenHops(values.id, await policyHops(values.id, values.policy ?? DEFAULT_POLICY_PATH), values['permit-open'] ?? []);
  if (values['tunnel-only'] && open.length === 0)
    throw new UsageError(`--tunnel-only: ${values.id} has no relay destination sshd can open; list them in a relay rule of ${values.id}`);

  const options = ['restrict'];
  if (values.from?.length) options.push(`from="${values.from.join(',')}"`);
  options.push(...hopOptions(open));
  const command = [...base, '--id', values.id, ...(values.policy ? ['--policy', values.policy] : [])];
  try {
    console.log(keyLine({ options, command, publicKey }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return 0;
}

function readPublicKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const publicKey = publicKeyFrom(text);
  if (!publicKey) throw new UsageError(`${file} holds no OpenSSH public key (a .pub file)`);
  return publicKey;
}

/**
 * What the identity's relay rules let sshd open (rules/hops.ts), read from the version keys serve
 * (the applied one: "ssh-dispatch apply"), so that the line and the dispatcher agree. Nothing
 * applied, a served version that cannot be read, or an identity it lacks, opens nothing: the line
 * is then `restrict` alone, and stderr says why (fail closed, and the admin knows).
 */
async function policyHops(id: string, policyPath: string): Promise<Hops> {
  const loaded = await loadApplied(policyPath);
  const note = (text: string) => process.stderr.write(`ssh-dispatch authorized-key: ${text}\n`);
  if (!loaded.ok && loaded.notApplied) {
    note(`nothing is applied at ${policyPath} yet: this key is refused until "ssh-dispatch apply" (and the line allows no ssh -W)`);
    return { open: [], unexpressed: [] };
  }
  if (!loaded.ok) {
    note(`${loaded.errors.map(formatPolicyError).slice(0, 3).join('; ')}: the served policy cannot be read, so the line allows no ssh -W`);
    return { open: [], unexpressed: [] };
  }
  const identity = loaded.policy.identities.get(id);
  if (identity === undefined) {
    note(
      `${id} is not in the served version ${loaded.version} of ${policyPath}: every request with this key is denied until a version with it is applied`,
    );
    return { open: [], unexpressed: [] };
  }
  const hops = identityHops(identity.rules);
  if (hops.unexpressed.length > 0)
    note(
      `${hops.unexpressed.join(', ')}: a range sshd's permitopen cannot express: ssh -W and ProxyJump cannot reach it, \`ProxyCommand ssh gw nc %h %p\` can`,
    );
  return hops;
}

/**
 * The permitopen list: the identity's relay destinations, or (--permit-open, kept for old
 * scripts) some of them. A --permit-open the relay rules do not list is refused: it would be a
 * second list, reachable by ssh -W and not by nc (issue 29).
 */
function chosenHops(id: string, hops: Hops, permitOpen: readonly string[]): string[] {
  for (const target of permitOpen)
    if (!hops.open.includes(target))
      throw new UsageError(
        `--permit-open ${target}: not a destination of ${id}'s relay rules (${hops.open.join(', ') || 'none'}); add it to a relay rule: the line takes them from there`,
      );
  return permitOpen.length > 0 ? [...permitOpen] : hops.open;
}
