/** `ssh-dispatch authorized-key`: prints the authorized_keys line for a key and an identity. */
import { readFileSync } from 'node:fs';
import { parseAddressRange } from '../values/address.js';
import { HOST_NAME, parsePort } from '../rules/relay/match.js';
import { keyLine, publicKeyFrom } from '../keyline.js';
import { ACCOUNT_NAME, DEFAULT_POLICY_PATH, NAME_PATTERN } from '../policy/schema.js';
import { loadServed } from '../policy/load.js';
import { printable } from '../values/printable.js';
import { absolutePath, dispatchProgram, parseFlags, UsageError } from '../args.js';

export const AUTHORIZED_KEY_HELP = `Usage: ssh-dispatch authorized-key --id ID [--from ADDR]... [--policy PATH]
                                  [--permit-open HOST:PORT]... [--tunnel-only] [--command 'PATH']
                                  PUBKEY_FILE
       ssh-dispatch authorized-key --sshd-config [--ca FILE] [--user NAME] [--policy PATH]
                                  [--command 'PATH'] [--match-user LIST]

Prints the line to add to ~/.ssh/authorized_keys for the public key in PUBKEY_FILE, so that the
key can do only what identity ID may:

  restrict,from="ADDR,...",command="RUNTIME LAUNCHER --id ID" ssh-ed25519 AAAA... comment

  --id ID                the identity in the policy (required)
  --from ADDR            restrict the key to client addresses (IP or CIDR; repeatable)
  --policy PATH          add --policy PATH to the command (default: ssh-dispatch's own default)
  --permit-open H:P      allow port forwarding to H:P only (repeatable); implies port-forwarding
  --tunnel-only          a key for \`ssh -N -L ...\` tunnels: needs --permit-open. Such sessions
                         never run the command, so permitopen is what confines them; any command
                         the key sends reaches ssh-dispatch and is denied unless ID has rules.
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
are: a note on stderr says when ID is not in the served version, or nothing is applied yet.

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
  let text: string;
  try {
    text = readFileSync(positionals[0]!, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const publicKey = publicKeyFrom(text);
  if (!publicKey) throw new UsageError(`${positionals[0]} holds no OpenSSH public key (a .pub file)`);
  for (const from of values.from ?? [])
    if (!parseAddressRange(from)) throw new UsageError(`--from ${from}: expected an IP address or CIDR`);
  const permitOpen = values['permit-open'] ?? [];
  for (const target of permitOpen) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+):([0-9]+)$/.exec(target);
    const host = match?.[1]?.replace(/^\[|\]$/g, '');
    if (
      !match ||
      parsePort(match[2]!) === null ||
      !(HOST_NAME.test(host!) || parseAddressRange(host!)?.prefix === (host!.includes(':') ? 128 : 32))
    ) {
      throw new UsageError(`--permit-open ${target}: expected HOST:PORT (a host name or an address, [..] for IPv6)`);
    }
  }
  if (values['tunnel-only'] && permitOpen.length === 0) throw new UsageError('--tunnel-only needs at least one --permit-open HOST:PORT');

  const options = ['restrict'];
  if (values.from?.length) options.push(`from="${values.from.join(',')}"`);
  if (permitOpen.length > 0) options.push('port-forwarding', ...permitOpen.map((t) => `permitopen="${t}"`));
  const command = [...base, '--id', values.id, ...(values.policy ? ['--policy', values.policy] : [])];
  try {
    console.log(keyLine({ options, command, publicKey }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  await noteServed(values.policy ?? DEFAULT_POLICY_PATH, values.id);
  return 0;
}

/** Whether the key would serve anything now: a newcomer's first key is otherwise refused with no clue on this side. */
async function noteServed(policyPath: string, identity: string): Promise<void> {
  const served = await loadServed(policyPath, identity);
  if (!served.ok && served.notApplied)
    process.stderr.write(`note: nothing is applied at ${policyPath} yet: this key is refused until "ssh-dispatch apply"\n`);
  else if (!served.ok) process.stderr.write(`note: the served policy cannot be read here (${printable(served.errors[0]!.message)})\n`);
  else if (!served.policy.identities.has(identity))
    process.stderr.write(
      `note: ${identity} is not in the served version ${served.version}: this key is refused until a version with it is applied\n`,
    );
}
