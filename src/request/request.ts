/**
 * One connection's request, as the decision sees it. Everything here comes from sshd or
 * from the admin's command= line; the client controls only `command`.
 */
import { parseKeyText, type UserCertificate } from './ssh-key.js';

export type { UserCertificate } from './ssh-key.js';

export interface ClientAddress {
  address: string;
  port: number;
}

export interface Request {
  /** The identity named by --id on the command= line (never chosen by the client). */
  identity: string;
  /** SSH_ORIGINAL_COMMAND; null when the session sent no command at all. */
  command: string | null;
  /** From SSH_CONNECTION; null when absent or malformed. */
  client: ClientAddress | null;
  /** Fingerprints of the public keys that authenticated (SSH_USER_AUTH); null when sshd exposed none. */
  keys: string[] | null;
  /**
   * The user certificates among them (SSH_USER_AUTH): sshd checked the CA's signature and the
   * principal against AuthorizedPrincipalsCommand; the decision checks principal and validity
   * again. Absent or empty: none.
   */
  certificates?: UserCertificate[];
  /** Keys sshd exposed that did not parse (request.ts readUserAuth); absent or 0: none. */
  unreadableKeys?: number;
  /** The account the dispatcher runs as. */
  user: string;
  home: string;
  /** SSH_CONNECTION as sshd set it, passed on to exec'd programs; null when absent or malformed. */
  sshConnection: string | null;
  /**
   * The session variables an exec rule may pass on (values/passable-env.ts: GIT_PROTOCOL), as sshd
   * set them, unchecked: the rule checks the value. Absent or empty: none was set.
   */
  env?: Readonly<Record<string, string>>;
  now: Date;
  /**
   * The connection's random id (serve/session.ts), where one is drawn: rsync's report lines carry it,
   * so lines a client makes rsync log cannot pass as the report (rules/rsync/match.ts). Absent for
   * `explain`, which runs nothing.
   */
  session?: string;
  /** rsync -s: the arguments the client sent ahead of the protocol (rules/rsync/protected-args.ts); absent otherwise. */
  protectedArgs?: string[];
}

/** `client_ip client_port server_ip server_port`, as sshd's session.c sets it. */
export function parseSshConnection(value: string | undefined): ClientAddress | null {
  if (value === undefined) return null;
  const parts = value.split(' ');
  if (parts.length !== 4) return null;
  const [address, port] = parts as [string, string, string, string];
  if (!/^[0-9A-Fa-f.:]{2,45}$/.test(address) || !/^[0-9]{1,5}$/.test(port)) return null;
  const portNumber = Number(port);
  if (portNumber > 65535) return null;
  return { address, port: portNumber };
}

/** What sshd's ExposeAuthInfo file says about the keys that authenticated. */
export interface UserAuth {
  /** Fingerprints of the keys, in order (a certificate's is its certified key's, as `ssh-keygen -lf` prints it). */
  keys: string[];
  /** The user certificates among them, in order. */
  certificates: UserCertificate[];
  /** publickey lines whose key did not parse: a key the checks cannot see, so identities that check keys refuse the session. */
  unreadable: number;
}

/**
 * The text of sshd's ExposeAuthInfo file: one line per authentication method that succeeded,
 * `publickey TYPE BASE64 [...]` for keys and certificates (auth2.c auth2_update_session_info).
 * A key whose blob does not parse, or whose type is not the one named, is counted, not guessed at.
 */
export function readUserAuth(text: string): UserAuth {
  const auth: UserAuth = { keys: [], certificates: [], unreadable: 0 };
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'publickey') continue;
    const key = fields.length >= 3 ? parseKeyText(fields[1]!, fields[2]!) : null;
    if (key === null) {
      auth.unreadable++;
      continue;
    }
    auth.keys.push(key.fingerprint);
    if (key.certificate) auth.certificates.push(key.certificate);
  }
  return auth;
}
