/**
 * authorized_keys lines for ssh-dispatch: `restrict` always (no agent, port or X11 forwarding,
 * no pty, no ~/.ssh/rc), the forced command, and for tunnel-only keys `port-forwarding` back on
 * with `permitopen` entries that confine it (an `ssh -N` session never runs the command).
 */

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
