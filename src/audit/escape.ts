/**
 * Making client-controlled text safe to store and to show.
 *
 * Log lines are JSON with every non-ASCII and control character written as \uXXXX, so a record
 * is one line of printable ASCII: CR/LF cannot forge records, ESC cannot drive the terminal of
 * whoever runs `tail`, bidi overrides cannot reorder what is read, NUL cannot truncate it for C
 * tools. JSON readers get the original text back exactly.
 */
import { sha256 } from '../lazy-builtins.js';

export const MAX_LOGGED_COMMAND_CHARS = 4096;

export function toLogLine(record: object): string {
  return JSON.stringify(record).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** The command as it is logged: bounded, with length and digest when it had to be cut. */
export function boundedCommand(command: string): { command: string; command_bytes?: number; command_sha256?: string } {
  if (command.length <= MAX_LOGGED_COMMAND_CHARS) return { command };
  return {
    command: command.slice(0, MAX_LOGGED_COMMAND_CHARS),
    command_bytes: Buffer.byteLength(command, 'utf8'),
    command_sha256: sha256(command, 'hex'),
  };
}
