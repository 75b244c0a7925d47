/**
 * `rsync --server [--sender] OPTIONS . OPERANDS` → a structured reading, or a refusal naming
 * the word that was refused. Pure, and independent of any rule: rules/rsync/match.ts applies the rule.
 *
 * The grammar is fixed and positional, as rrsync enforces it ("restrictive on purpose"):
 * --server is the second word; --sender is the third or absent (rsync would honour a --sender
 * anywhere, so a write-only rule that did not pin its position could be turned into a read);
 * the options end at the first lone "."; everything after it is an operand.
 */
import type { DenyReason } from '../../values/deny-reason.js';
import {
  CAPABILITY_TAIL,
  LONG_OPTIONS,
  REFUSED_SHORT,
  SHORT_OPTIONS,
  SHORT_WITH_NUMBER,
  type ArgKind,
  type Direction,
  type Gate,
} from './server-options.js';

export interface ServerOption {
  /** The words as received: one (`-logDtpr`, `--delete`, `--bwlimit=10`) or two (`--link-dest`, `../prev`). */
  words: string[];
  /** Long name, or `-` for a short bundle. */
  name: string;
  value: string | null;
  arg: ArgKind;
  gates: Gate[];
  direction: Direction;
}

export interface ServerArgs {
  /** The server sends (the client pulls). */
  sender: boolean;
  options: ServerOption[];
  operands: string[];
}

export type ServerArgsParse = { ok: true; args: ServerArgs } | { ok: false; reason: DenyReason; detail: string };

const RSYNC_WORD = /^(?:\/[A-Za-z0-9._+/-]*\/)?rsync$/;
const UINT = /^[0-9]{1,10}$/;
const INT = /^-?[0-9]{1,10}$/;
const SIZE = /^[0-9]{1,19}(?:\.[0-9]{1,6})?(?:[bBkKmMgGtTpP](?:[iI]?[bB])?)?(?:[+-]1)?$/;
const NAME = /^[A-Za-z0-9._+-]{1,64}(?:,[A-Za-z0-9._+-]{1,64}){0,15}$/;
const WORDS = /^[A-Za-z0-9,]{1,256}$/;
const MAP = /^[A-Za-z0-9_.*?:,@-]{1,1024}$/;
const LOG_FORMATS = new Set(['X', '%i', '%i%I', '%o']);
const STDERR_MODES = new Set(['errors', 'all', 'client']);

function refuse(reason: DenyReason, detail: string): ServerArgsParse {
  return { ok: false, reason, detail };
}

/** True when the words look like an rsync server invocation at all (the rule applies to them). */
export function looksLikeRsync(words: readonly string[]): boolean {
  return words.length > 0 && RSYNC_WORD.test(words[0]!);
}

/** Why a value is not of its kind, or null. Paths are only syntax-checked here. */
function badValue(arg: ArgKind, value: string): string | null {
  const ok = (() => {
    switch (arg) {
      case 'none':
        return false;
      case 'uint':
        return UINT.test(value) && Number(value) <= 2 ** 31 - 1;
      case 'int':
        return INT.test(value) && Math.abs(Number(value)) <= 2 ** 31 - 1;
      case 'size':
        return SIZE.test(value);
      case 'name':
        return NAME.test(value);
      case 'words':
        return WORDS.test(value);
      case 'map':
        return MAP.test(value);
      case 'suffix':
        return !value.includes('/') && value.length <= 64;
      case 'log-format':
        return LOG_FORMATS.has(value);
      case 'stderr-mode':
        return STDERR_MODES.has(value);
      case 'dest-path':
      case 'partial-path':
      case 'files-from':
        return value.length > 0;
    }
  })();
  return ok ? null : `${JSON.stringify(value)} is not a valid value`;
}

/** rsync refuses a --max-alloc below 1 MiB, except 0, which means "unlimited". */
const MIN_MAX_ALLOC = 1024 * 1024;
const SIZE_POWERS: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * A size as rsync 3.5's parse_size_arg() reads it (options.c): digits with an optional
 * fraction, a unit letter (default `defaultUnit`), "b" for powers of 1000 or "ib" for 1024,
 * then an optional "+1" or "-1"; the fraction is truncated after scaling. Null where rsync
 * would refuse the text. What the value means must be what rsync will make of it, not what it
 * looks like: "0.0009k" is 0.
 */
export function rsyncSize(text: string, defaultUnit: 'B' | 'K'): number | null {
  const match = /^([0-9]*(?:\.[0-9]*)?)([bkmgtp])?(b|ib)?((?:\+|-)1)?$/i.exec(text);
  if (!match || match[1] === '' || match[1] === '.') return null;
  if (match[3] !== undefined && match[2] === undefined) return null;
  const power = SIZE_POWERS[(match[2] ?? defaultUnit).toLowerCase()]!;
  const base = match[3]?.toLowerCase() === 'b' ? 1000 : 1024;
  let size = Math.trunc(Number(match[1]) * base ** power);
  if (!Number.isSafeInteger(size)) return null;
  if (match[4] === '+1') size++;
  else if (match[4] === '-1') size--;
  return size;
}

function parseLong(
  word: string,
  next: string | undefined,
): { option: ServerOption; consumed: number } | { reason: DenyReason; detail: string } {
  const eq = word.indexOf('=');
  const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
  const inlineValue = eq < 0 ? null : word.slice(eq + 1);
  const entry = LONG_OPTIONS[name];
  if (entry === undefined) return { reason: 'rsync-option-unknown', detail: `--${name}` };
  if ('refused' in entry) return { reason: 'rsync-option-refused', detail: `--${name}: ${entry.why}` };
  if (entry.arg === 'none') {
    if (inlineValue !== null) return { reason: 'rsync-option-refused', detail: `--${name} takes no value` };
    return {
      option: { words: [word], name, value: null, arg: 'none', gates: [...(entry.gates ?? [])], direction: entry.direction ?? 'any' },
      consumed: 1,
    };
  }
  // rsync's client sends --backup-dir, --partial-dir, --temp-dir, the basis dirs and
  // --files-from as two words, and the rest as --opt=value; both forms mean the same to popt.
  const value = inlineValue ?? next;
  if (value === undefined || (inlineValue === null && value === '.'))
    return { reason: 'rsync-bad-syntax', detail: `--${name} has no value` };
  const bad = badValue(entry.arg, value);
  if (bad) return { reason: 'rsync-option-refused', detail: `--${name}: ${bad}` };
  if (name === 'max-alloc') {
    // Read the way rsync reads it: "1-1", "0.0009k" and "1b-1" are all 0 there, and 0 is "unlimited".
    const bytes = rsyncSize(value, 'B');
    if (bytes === null || bytes < MIN_MAX_ALLOC) {
      return {
        reason: 'rsync-option-refused',
        detail: `--max-alloc=${value} is ${bytes === 0 ? '0 to rsync, which disables the allocation cap (CVE-2026-53794)' : 'not a size rsync accepts'}`,
      };
    }
  }
  const words = inlineValue === null ? [word, value] : [word];
  return {
    option: { words, name, value, arg: entry.arg, gates: [...(entry.gates ?? [])], direction: entry.direction ?? 'any' },
    consumed: words.length,
  };
}

function parseShort(word: string): ServerOption | { reason: DenyReason; detail: string } {
  const numbered = SHORT_WITH_NUMBER[word[1]!];
  if (numbered) {
    const value = word.slice(2);
    if (!(numbered.signed ? INT : UINT).test(value)) return { reason: 'rsync-option-refused', detail: `${word}: not a number` };
    return { words: [word], name: numbered.long, value, arg: numbered.signed ? 'int' : 'uint', gates: [], direction: 'any' };
  }
  // popt lets -e swallow the rest of the bundle: in -logDtpre.iLsfxCIvu the letters after "e"
  // are the client's capability flags (compat.c), not options. Only that exact tail is allowed.
  let letters = word.slice(1);
  const tail = CAPABILITY_TAIL.exec(letters);
  if (tail) letters = letters.slice(0, tail.index);
  const gates = new Set<Gate>();
  for (const letter of letters) {
    const known = SHORT_OPTIONS[letter];
    if (known) {
      for (const gate of known.gates ?? []) gates.add(gate);
      continue;
    }
    const refused = REFUSED_SHORT[letter];
    if (refused) return { reason: 'rsync-option-refused', detail: `-${letter} (in ${word}): ${refused}` };
    return { reason: 'rsync-option-unknown', detail: `-${letter} (in ${word})` };
  }
  return { words: [word], name: '-', value: letters, arg: 'none', gates: [...gates], direction: 'any' };
}

export function parseServerArgs(words: readonly string[]): ServerArgsParse {
  if (!looksLikeRsync(words)) return refuse('rsync-not-server', 'not an rsync command');
  if (words[1] !== '--server') return refuse('rsync-not-server', '--server is not the second word (rsync would run as a client)');
  let i = 2;
  const sender = words[2] === '--sender';
  if (sender) i++;

  const options: ServerOption[] = [];
  for (;;) {
    const word = words[i];
    if (word === undefined) return refuse('rsync-bad-syntax', 'no "." ends the options (with -s the real arguments would follow on stdin)');
    if (word === '.') break;
    if (word === '--server' || word === '--sender')
      return refuse('rsync-bad-syntax', `${word} is allowed only right after rsync / --server`);
    let parsed: ServerOption | { reason: DenyReason; detail: string };
    let consumed = 1;
    if (word.startsWith('--') && word.length > 2) {
      const long = parseLong(word, words[i + 1]);
      if ('reason' in long) return refuse(long.reason, long.detail);
      parsed = long.option;
      consumed = long.consumed;
    } else if (word.startsWith('-') && word.length > 1 && word !== '--') {
      parsed = parseShort(word);
    } else {
      return refuse('rsync-bad-syntax', `${JSON.stringify(word)} where an option was expected`);
    }
    if ('reason' in parsed) return refuse(parsed.reason, parsed.detail);
    options.push(parsed);
    i += consumed;
  }
  return { ok: true, args: { sender, options, operands: words.slice(i + 1) } };
}
