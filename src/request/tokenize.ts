/**
 * The client's command string → words, or a refusal.
 *
 * No shell ever sees the client's words, so anything a shell would have expanded or
 * interpreted is refused rather than passed on literally: a client that sends `$HOME` or
 * `ls; id` meant something a literal word would not do, and guessing is how wrappers break.
 *
 * The authority is a strict subset of POSIX sh quoting: words separated by ASCII space and
 * tab; single quotes; double quotes (where only \$ \` \" \\ are escapes); a backslash outside
 * quotes makes the next character literal. rsync >= 3.2.4 escapes its operands exactly so
 * (`my\ file`, `a\#b`, `\$\(x\)`), and older clients or people quote by hand.
 *
 * shell-quote then reads the same string as a cross-check, and the two must agree word for
 * word. It is not the authority because, measured on the installed 1.12: it decodes $'\x2e'
 * silently, expands $VAR to "" unless given an env callback, treats \v, U+00A0 and U+2028 as
 * separators, keeps an unterminated quote, and loses the escape of \* (test/request pins this).
 */
import { parse as shellQuoteParse } from 'shell-quote';
import type { DenyReason } from '../values/deny-reason.js';
import { LOOKS_LIKE_SLASH, NORMALISES_TO_DOT_OR_SLASH } from './lookalikes.js';

export const MAX_COMMAND_BYTES = 64 * 1024;
export const MAX_WORDS = 4096;
export const MAX_WORD_BYTES = 4096;

export type Tokenized =
  | {
      ok: true;
      words: string[];
      /**
       * Words with unquoted glob characters (* ? [), which a shell would have expanded: index →
       * a pattern (values/pattern.ts) in which the quoted and escaped characters are escaped. Only an
       * rsync pull operand may carry one (rsync clients send `host:'logs/*.gz'` unescaped).
       */
      globs: ReadonlyMap<number, string>;
    }
  | { ok: false; reason: DenyReason; detail: string };

// C0 controls except tab (handled by the tokenizer: allowed only between words), DEL, C1.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
// Characters that render as nothing, as a space, or reorder text: they make what the admin reads
// differ from what ran (bidi overrides, zero-width, non-ASCII spaces, BOM), and U+FFFD stands for
// bytes that were not UTF-8. Also the look-alikes of "." and "/" (request/lookalikes.ts): on a
// filesystem that normalises names (ZFS normalization=formKC) "．．／" is "../". Lone surrogates
// cannot come from the environment but can from tests.
const INVISIBLE = new RegExp(
  `[${NORMALISES_TO_DOT_OR_SLASH}${LOOKS_LIKE_SLASH}\\u00a0\\u00ad\\u034f\\u061c\\u115f\\u1160\\u1680\\u17b4\\u17b5\\u180b-\\u180f\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff9-\\ufffd]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]`,
  'u',
);

// What an unquoted character means to a shell, for the ones we refuse.
const UNQUOTED_REFUSED: Record<string, DenyReason> = {
  ';': 'tokenize-operator',
  '&': 'tokenize-operator',
  '|': 'tokenize-operator',
  '<': 'tokenize-operator',
  '>': 'tokenize-operator',
  '(': 'tokenize-operator',
  ')': 'tokenize-operator',
  '`': 'tokenize-substitution',
  // sh reads `a#b` as one word, but shell-quote reads a comment: refuse both readings.
  '#': 'tokenize-comment',
  '{': 'tokenize-expansion',
  '}': 'tokenize-expansion',
  '!': 'tokenize-expansion',
};

/**
 * What the tokenizer refuses in any character of a command, for words that arrive without a
 * command string (rsync's protected arguments): control characters, invisible and look-alike
 * characters, over-long words. Null when the word is acceptable.
 */
export function wordProblem(word: string): { reason: DenyReason; detail: string } | null {
  if (Buffer.byteLength(word, 'utf8') > MAX_WORD_BYTES)
    return { reason: 'tokenize-word-too-long', detail: `a word of ${Buffer.byteLength(word, 'utf8')} bytes` };
  const control = CONTROL.exec(word);
  if (control) return { reason: 'tokenize-control-character', detail: `U+${hex4(control[0])} at offset ${control.index}` };
  const invisible = INVISIBLE.exec(word);
  if (invisible) return { reason: 'tokenize-invisible-character', detail: `U+${hex4(invisible[0])} at offset ${invisible.index}` };
  return null;
}

function refuse(reason: DenyReason, detail: string): Tokenized {
  return { ok: false, reason, detail };
}

function describeDollar(next: string | undefined): { reason: DenyReason; what: string } {
  if (next === '(') return { reason: 'tokenize-substitution', what: '$(' };
  if (next === "'" || next === '"') return { reason: 'tokenize-expansion', what: `$${next}` };
  return { reason: 'tokenize-variable', what: '$' };
}

/** The words read so far, and the one being read: as text, and as a pattern with its literal characters escaped. */
class Words {
  readonly words: string[] = [];
  readonly globs = new Map<number, string>();
  /** Words in which a glob character was escaped: shell-quote returns those as glob objects. */
  readonly escapedGlob = new Set<number>();
  private word = '';
  private pattern = '';
  private globbed = false;
  /** Whether a word has begun (an empty quoted word '' is a word). */
  inWord = false;

  literal(text: string): void {
    this.word += text;
    this.pattern += text.replace(MICROMATCH_SPECIAL, '\\$&');
    this.inWord = true;
  }

  /** An unquoted glob character, kept bare in the pattern ("]" closes a "[" and makes no glob of its own). */
  glob(c: string): void {
    this.word += c;
    this.pattern += c;
    if (c !== ']') this.globbed = true;
    this.inWord = true;
  }

  escapedGlobHere(): void {
    this.escapedGlob.add(this.words.length);
  }

  endWord(): void {
    if (this.inWord) {
      if (this.globbed) this.globs.set(this.words.length, this.pattern);
      this.words.push(this.word);
    }
    this.word = '';
    this.pattern = '';
    this.globbed = false;
    this.inWord = false;
  }
}

type Refusal = { reason: DenyReason; detail: string };
/** Where reading goes on after one token, or why it stops. */
type Step = number | Refusal;

/** A backslash outside quotes: the next character is literal. */
function readEscape(command: string, i: number, words: Words): Step {
  const next = command[i + 1];
  if (next === undefined) return { reason: 'tokenize-trailing-backslash', detail: `offset ${i}` };
  if (next === '\t') return { reason: 'tokenize-control-character', detail: `escaped tab at offset ${i + 1}` };
  if (next === '*' || next === '?' || next === '[') words.escapedGlobHere();
  words.literal(next);
  return i + 2;
}

function readSingleQuoted(command: string, i: number, words: Words): Step {
  const close = command.indexOf("'", i + 1);
  if (close < 0) return { reason: 'tokenize-unbalanced-quote', detail: `single quote at offset ${i}` };
  const quoted = command.slice(i + 1, close);
  if (quoted.includes('\t')) return { reason: 'tokenize-control-character', detail: `tab inside quotes at offset ${i}` };
  words.literal(quoted);
  return close + 1;
}

/** Double quotes, where only \$ \` \" \\ are escapes, and an expansion is refused. */
function readDoubleQuoted(command: string, i: number, words: Words): Step {
  // An empty "" is a word too.
  words.inWord = true;
  let j = i + 1;
  for (;;) {
    const d = command[j];
    if (d === undefined) return { reason: 'tokenize-unbalanced-quote', detail: `double quote at offset ${i}` };
    if (d === '"') return j + 1;
    if (d === '\t') return { reason: 'tokenize-control-character', detail: `tab inside quotes at offset ${j}` };
    if (d === '`') return { reason: 'tokenize-substitution', detail: `\` inside double quotes at offset ${j}` };
    if (d === '$') {
      const { reason, what } = describeDollar(command[j + 1]);
      return { reason, detail: `${what} inside double quotes at offset ${j}` };
    }
    const e = command[j + 1];
    if (d === '\\' && (e === '$' || e === '`' || e === '"' || e === '\\')) {
      words.literal(e);
      j += 2;
      continue;
    }
    // Before any other character the backslash is itself literal (POSIX 2.2.3).
    words.literal(d);
    j++;
  }
}

/** One token at `i`: a separator, an escape, a quoted run, or an unquoted character. */
function readToken(command: string, i: number, words: Words): Step {
  const c = command[i]!;
  if (c === ' ' || c === '\t') {
    words.endWord();
    return i + 1;
  }
  if (c === '\\') return readEscape(command, i, words);
  if (c === "'") return readSingleQuoted(command, i, words);
  if (c === '"') return readDoubleQuoted(command, i, words);
  if (c === '$') {
    const { reason, what } = describeDollar(command[i + 1]);
    return { reason, detail: `${what} at offset ${i}` };
  }
  if (c === '~' && !words.inWord) return { reason: 'tokenize-expansion', detail: `~ at the start of a word, offset ${i}` };
  if (c === '*' || c === '?' || c === '[' || c === ']') {
    // Unquoted glob characters stay in the pattern as they are.
    words.glob(c);
    return i + 1;
  }
  const reason = UNQUOTED_REFUSED[c];
  if (reason) return { reason, detail: `${c} at offset ${i}` };
  words.literal(c);
  return i + 1;
}

/** What is refused in the command as a whole, before any word is read. */
function commandProblem(command: string): Refusal | null {
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_COMMAND_BYTES) return { reason: 'tokenize-too-long', detail: `${bytes} bytes` };
  const control = CONTROL.exec(command);
  if (control) return { reason: 'tokenize-control-character', detail: `U+${hex4(control[0])} at offset ${control.index}` };
  const invisible = INVISIBLE.exec(command);
  if (invisible) return { reason: 'tokenize-invisible-character', detail: `U+${hex4(invisible[0])} at offset ${invisible.index}` };
  return null;
}

export function tokenize(command: string): Tokenized {
  const problem = commandProblem(command);
  if (problem) return refuse(problem.reason, problem.detail);
  const read = new Words();
  for (let i = 0; i < command.length; ) {
    const next = readToken(command, i, read);
    if (typeof next !== 'number') return refuse(next.reason, next.detail);
    i = next;
    if (read.words.length > MAX_WORDS) return refuse('tokenize-too-many-words', `more than ${MAX_WORDS}`);
  }
  read.endWord();
  const { words, globs } = read;
  if (words.length > MAX_WORDS) return refuse('tokenize-too-many-words', `${words.length} words`);
  for (const [index, w] of words.entries()) {
    const wordBytes = Buffer.byteLength(w, 'utf8');
    if (wordBytes > MAX_WORD_BYTES) return refuse('tokenize-word-too-long', `word ${index + 1}: ${wordBytes} bytes`);
  }

  if (!PLAIN_WORDS.test(command)) {
    const disagreement = crossCheckWithShellQuote(command, words, new Set([...read.escapedGlob, ...globs.keys()]));
    if (disagreement) return refuse('tokenize-divergence', disagreement);
  }
  return { ok: true, words, globs };
}

/**
 * Words of characters no reader treats specially, one space apart: there is only one way to read
 * them, so the cross-check has nothing to compare and is skipped (it costs a connection about
 * 1 ms). test/properties.test.ts checks that shell-quote reads such strings the same way.
 */
export const PLAIN_WORDS = /^[A-Za-z0-9._\/=,:@%+-]+(?: [A-Za-z0-9._\/=,:@%+-]+)*$/;

/**
 * Returns why shell-quote disagrees with `words`, or null when it reads the same words.
 * `globWords`: words shell-quote returns as glob objects (it keeps no record of escapes).
 */
function crossCheckWithShellQuote(command: string, words: string[], globWords: Set<number>): string | null {
  let tokens: ReturnType<typeof shellQuoteParse>;
  try {
    // The callback turns every variable into an object instead of a silent "".
    tokens = shellQuoteParse(command, (name) => ({ op: 'variable', name }) as unknown as string);
  } catch (error) {
    return `shell-quote failed: ${(error as Error).message}`;
  }
  if (tokens.length !== words.length) return `shell-quote read ${tokens.length} words, not ${words.length}`;
  for (const [index, token] of tokens.entries()) {
    const word = words[index]!;
    if (typeof token === 'string') {
      if (token !== word) return `word ${index + 1} differs`;
    } else if ('op' in token && token.op === 'glob' && globWords.has(index)) {
      if (token.pattern !== word) return `word ${index + 1} differs`;
    } else {
      return `word ${index + 1} is not a plain word to shell-quote`;
    }
  }
  return null;
}

/**
 * Characters escaped where they are literal. values/pattern.ts reads only * ? [ ] as syntax, but
 * a backslash before any character means that character, so escaping micromatch's old set too
 * costs nothing and keeps patterns the same for both readers.
 */
const MICROMATCH_SPECIAL = /[\\*?[\]{}()!+@|]/g;

function hex4(char: string): string {
  return char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}
