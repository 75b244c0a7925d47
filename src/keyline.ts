/**
 * authorized_keys lines for ssh-dispatch: `restrict` always (no agent, port or X11 forwarding,
 * no pty, no ~/.ssh/rc), the forced command, and for an identity with relay destinations
 * `port-forwarding` back on with `permitopen` entries that confine it and a `permitlisten` that
 * no listener matches (an `ssh -W` or `ssh -N` session never runs the command).
 */

/**
 * The permitlisten entry that refuses every `ssh -R` listener. sshd lowercases the host a client
 * asks to listen on before matching it against this pattern (channels.c remote_open_match, since
 * 7.8), so a pattern with capitals matches no request; port 1 is privileged besides. Tried
 * against the real sshd (test/e2e/relay.e2e.test.ts): `permitlisten="none"` is not a port, and
 * sshd then refuses the whole key line; `localhost:1` lets root listen on port 1.
 */
export const NO_LISTENER = 'permitlisten="NONE:1"';

/** The options after `restrict` that let a key open exactly `open` (permitopen values) and listen nowhere; none for an empty list. */
export function hopOptions(open: readonly string[]): string[] {
  if (open.length === 0) return [];
  return ['port-forwarding', ...open.map((target) => `permitopen="${target}"`), NO_LISTENER];
}

export const SAFE_COMMAND_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** The command="..." value: words joined by spaces; refused when a word would need quoting. */
export function forcedCommand(argv: readonly string[]): string {
  for (const word of argv) {
    if (!SAFE_COMMAND_WORD.test(word))
      throw new Error(`cannot put ${JSON.stringify(word)} in a command= option safely (letters, digits and _ . / : = @ % + , - only)`);
  }
  return argv.join(' ');
}

export interface KeyLineOptions {
  /** Options before command=, such as "restrict", "from=...". */
  options: string[];
  command: readonly string[];
  publicKey: string;
}

export function keyLine({ options, command, publicKey }: KeyLineOptions): string {
  return `${[...options, `command="${forcedCommand(command)}"`].filter(Boolean).join(',')} ${publicKey}`;
}

export interface PrincipalLineOptions {
  options: string[];
  command: readonly string[];
  principal: string;
}

/**
 * An AuthorizedPrincipalsCommand line: options, then the principal after the last space (sshd
 * reads a line's principal from its last space on, so the principal itself may hold none).
 */
export function principalLine({ options, command, principal }: PrincipalLineOptions): string {
  if (/\s/.test(principal) || principal === '') throw new Error(`a principal may hold no space: ${JSON.stringify(principal)}`);
  return `${[...options, `command="${forcedCommand(command)}"`].filter(Boolean).join(',')} ${principal}`;
}

const PUBLIC_KEY =
  /^(ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:-cert-v01@openssh\.com)? [A-Za-z0-9+/]+={0,2}(?: [^\r\n]*)?$/;

/** The first public key line of an OpenSSH .pub file, or null. */
export function publicKeyFrom(text: string): string | null {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (PUBLIC_KEY.test(trimmed)) return trimmed;
  }
  return null;
}
