/** `ssh-dispatch authorized-key`: prints the authorized_keys line for a key and an identity. */
import { readFileSync, realpathSync } from 'node:fs';
import { parseAddressRange } from '../values/address.js';
import { HOST_NAME, parsePort } from '../rules/relay/match.js';
import { keyLine, publicKeyFrom } from '../keyline.js';
import { NAME_PATTERN } from '../policy/schema.js';
import { parseFlags, UsageError } from './args.js';

export const AUTHORIZED_KEY_HELP = `Usage: ssh-dispatch authorized-key --id ID [--from ADDR]... [--policy PATH]
                                  [--permit-open HOST:PORT]... [--tunnel-only] [--command 'PATH']
                                  PUBKEY_FILE

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
on a gateway is a way to steal the client's identity. Exit status: 0, or 2 on a usage error.`;

export function runAuthorizedKey(args: string[]): number {
  const { values, positionals } = parseFlags(
    args,
    {
      id: { type: 'string' },
      from: { type: 'string', multiple: true },
      policy: { type: 'string' },
      'permit-open': { type: 'string', multiple: true },
      'tunnel-only': { type: 'boolean' },
      command: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    console.log(AUTHORIZED_KEY_HELP);
    return 0;
  }
  if (!values.id || !NAME_PATTERN.test(values.id)) throw new UsageError('--id ID is required (a name of letters, digits and . _ @ -)');
  if (positionals.length !== 1) throw new UsageError('give one public key file');
  let text: string;
  try {
    text = readFileSync(positionals[0]!, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const publicKey = publicKeyFrom(text);
  if (!publicKey) throw new UsageError(`${positionals[0]} holds no OpenSSH public key (a .pub file)`);
  for (const from of values.from ?? []) if (!parseAddressRange(from)) throw new UsageError(`--from ${from}: expected an IP address or CIDR`);
  const permitOpen = values['permit-open'] ?? [];
  for (const target of permitOpen) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+):([0-9]+)$/.exec(target);
    const host = match?.[1]?.replace(/^\[|\]$/g, '');
    if (!match || parsePort(match[2]!) === null || !(HOST_NAME.test(host!) || parseAddressRange(host!)?.prefix === (host!.includes(':') ? 128 : 32))) {
      throw new UsageError(`--permit-open ${target}: expected HOST:PORT (a host name or an address, [..] for IPv6)`);
    }
  }
  if (values['tunnel-only'] && permitOpen.length === 0) throw new UsageError('--tunnel-only needs at least one --permit-open HOST:PORT');

  const options = ['restrict'];
  if (values.from?.length) options.push(`from="${values.from.join(',')}"`);
  if (permitOpen.length > 0) options.push('port-forwarding', ...permitOpen.map((t) => `permitopen="${t}"`));
  const base = values.command ? values.command.split(' ') : [process.execPath, realpathSync(process.argv[1]!)];
  const command = [...base, '--id', values.id, ...(values.policy ? ['--policy', values.policy] : [])];
  try {
    console.log(keyLine({ options, command, publicKey }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return 0;
}
