/**
 * An sftp rule tried on a request. Three clients reach it:
 * - the sftp subsystem (sftp, OpenSSH scp >= 9.0, restic, rclone, duplicity, WinSCP): with a
 *   forced command sshd puts the configured subsystem command in SSH_ORIGINAL_COMMAND, so it
 *   arrives as `internal-sftp` or a path to sftp-server, with any flags that line has;
 * - legacy scp (`scp -O`): `scp [-r] [-p] [-d] [-v] -t|-f [--] PATH`.
 * Whatever the words ask, what serves them is our own file server in the sandbox, confined to
 * the rule's root (act/files/): the words only choose the protocol and the scp direction.
 */
import type { Request } from '../../request/request.js';
import type { RuleOutcome } from '../base.js';
import { ROOT_CAPS } from '../sandbox.js';
import type { ScpRequest } from '../plan.js';
import type { SftpRule } from './rule.js';

/** How sshd names the sftp subsystem: its own, or sftp-server where distributions put it. */
export const SFTP_SUBSYSTEM_COMMANDS = [
  'internal-sftp',
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/libexec/sftp-server',
  '/usr/lib/sftp-server',
  '/usr/lib/ssh/sftp-server',
];

/** sftp-server flags a `Subsystem` line may carry that only set logging: read and ignored (the rule says what is served). */
const LOGGING_FLAGS: Record<string, boolean> = { '-e': false, '-l': true, '-f': true };

/** `scp ... -t|-f [--] PATH` as sent by OpenSSH's scp, or why not. Every other option (-S, -o, -F ...) is refused. */
export function parseScpWords(words: readonly string[]): ScpRequest | string {
  if (words[0] !== 'scp' && words[0] !== '/usr/bin/scp') return 'not scp';
  let direction: ScpRequest['direction'] | null = null;
  const seen = new Set<string>();
  let i = 1;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (const letter of word.slice(1)) {
      if (letter === 't' || letter === 'f') {
        if (direction !== null) return 'scp with more than one of -t and -f';
        direction = letter === 't' ? 'to-server' : 'from-server';
      } else if ('rpdv'.includes(letter)) {
        seen.add(letter);
      } else {
        return `scp option -${letter} is not served (only -r, -p, -d, -v with -t or -f)`;
      }
    }
  }
  if (direction === null) return 'scp without -t or -f';
  const rest = words.slice(i);
  if (rest.length !== 1) return `scp with ${rest.length} paths (exactly one is served)`;
  if (rest[0] === '' || rest[0]!.includes('\0')) return 'scp with an empty path or a NUL';
  return { direction, recursive: seen.has('r'), preserveTimes: seen.has('p'), targetMustBeDir: seen.has('d'), path: rest[0]! };
}

/** The sftp subsystem's command, or why these words are not it. */
export function isSubsystem(words: readonly string[]): true | string {
  if (!SFTP_SUBSYSTEM_COMMANDS.includes(words[0]!)) return 'not the sftp subsystem';
  for (let i = 1; i < words.length; i++) {
    const takesValue = LOGGING_FLAGS[words[i]!];
    if (takesValue === undefined)
      return `sftp-server flag ${JSON.stringify(words[i])} is not served (only the logging flags -e, -l, -f of a Subsystem line)`;
    if (takesValue && ++i >= words.length) return `sftp-server flag ${words[i - 1]} without its value`;
  }
  return true;
}

export function matchSftp(rule: SftpRule, words: readonly string[], globs: ReadonlyMap<number, string>, _request: Request): RuleOutcome {
  if (globs.size > 0) return { ok: false, why: 'a word holds an unquoted glob character' };
  // A read rule writes nothing: no floor to keep.
  const policy = {
    root: rule.root,
    access: rule.access,
    delete: rule.delete,
    overwrite: rule.overwrite,
    umask: rule.umask,
    minFreeBytes: rule.access === 'read' ? 0 : rule.minFreeBytes,
    idleTimeoutMs: rule.idleTimeoutMs,
  };
  // The kernel shows the server root, writable only if the rule writes.
  const sandbox =
    rule.access === 'read'
      ? { read: [rule.root], write: [], rootCaps: [...ROOT_CAPS.files] }
      : { read: [], write: [rule.root], rootCaps: [...ROOT_CAPS.files] };
  const subsystem = isSubsystem(words);
  if (subsystem === true) return { ok: true, plan: { kind: 'files', protocol: 'sftp', policy, scp: null, sandbox } };
  const scp = parseScpWords(words);
  if (typeof scp === 'string') {
    // A word that is neither is not this rule's business; a bad scp or subsystem line is, and says why.
    const ours = words[0] === 'scp' || words[0] === '/usr/bin/scp' || SFTP_SUBSYSTEM_COMMANDS.includes(words[0]!);
    return {
      ok: false,
      why: ours ? (words[0]!.endsWith('scp') ? scp : subsystem) : `not sftp or scp`,
      reason: ours ? 'sftp-refused' : null,
    };
  }
  if (scp.direction === 'to-server' && rule.access === 'read')
    return { ok: false, why: 'scp -t (an upload) to a read rule', reason: 'sftp-refused' };
  if (scp.direction === 'from-server' && rule.access === 'write')
    return { ok: false, why: 'scp -f (a download) from a write rule', reason: 'sftp-refused' };
  return { ok: true, plan: { kind: 'files', protocol: 'scp', policy, scp, sandbox } };
}
