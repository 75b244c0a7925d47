/**
 * The client's command, read once: its words (request/tokenize.ts, no shell), the rest of an
 * rsync -s command's words that came on the connection, and the plain form of a wrapped program
 * (rules/spelling.ts). Every later step works on this reading, never on the string again.
 */
import { tokenize } from '../request/tokenize.js';
import { protectedArgsFlag, withProtectedArgs } from '../rules/rsync/protected-args.js';
import { readSpelling, type SpellingReading } from '../rules/spelling.js';
import { deny, type Deny } from './decision.js';

export type Command =
  /** No command, or only blanks: only a rule that serves an empty session may take it. */
  { empty: true; sent: boolean } | { empty: false; words: string[]; globs: ReadonlyMap<number, string>; spelled: SpellingReading };

/** The command's words as the client sent them, before any came on the connection; `sendsMore`: it says rsync -s, so more words follow on the connection. */
export type Tokens =
  | { empty: true; sent: boolean }
  | { empty: false; words: string[]; globs: ReadonlyMap<number, string>; sendsMore: boolean };

/** The words of `command`, with the protected arguments read off the connection when there were any. */
export function readCommand(command: string | null, protectedArgs?: readonly string[]): Command | Deny {
  const tokens = tokenizeCommand(command);
  return isDeny(tokens) ? tokens : completeCommand(tokens, protectedArgs);
}

/** The command line's words (no shell: request/tokenize.ts). */
export function tokenizeCommand(command: string | null): Tokens | Deny {
  if (command === null || /^[ \t]*$/.test(command)) return { empty: true, sent: command !== null };
  const tokenized = tokenize(command);
  if (!tokenized.ok) return deny(tokenized.reason, tokenized.detail);
  return { empty: false, words: tokenized.words, globs: tokenized.globs, sendsMore: protectedArgsFlag(tokenized.words) !== null };
}

/** The words with those that came on the connection (rsync -s), and the plain form of a wrapped program. */
export function completeCommand(tokens: Tokens, protectedArgs?: readonly string[]): Command | Deny {
  if (tokens.empty) return tokens;
  let { words, globs } = tokens;
  if (protectedArgs !== undefined) {
    const merged = withProtectedArgs(words, globs, protectedArgs);
    if (!merged.ok) return deny(merged.reason, merged.detail, words);
    ({ words, globs } = merged);
  }
  return { empty: false, words, globs, spelled: readSpelling(words, globs) };
}

export function isDeny<T>(value: T | Deny): value is Deny {
  return typeof value === 'object' && value !== null && (value as { decision?: unknown }).decision === 'deny';
}
