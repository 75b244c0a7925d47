/**
 * Spellings: the ways real clients write the two commands ssh-dispatch serves itself, read back
 * to the plain form a rule kind knows (docs/rules/rsync.md and docs/rules/relay.md).
 *
 * - rsync behind wrappers: `--rsync-path='sudo -n rsync'` makes the client send
 *   `sudo -n rsync --server ...`, BackupPC `sudo /usr/bin/rsync ...`, others `nice -n 19 rsync`,
 *   `ionice -c3 rsync` or a combination. The wrapper is not run: the rule's own rsync runs, as the
 *   account the key logs into, with the rule's own niceness (rsync `nice:`, `ionice:`). So a
 *   wrapper is taken off only when it has exactly one of the shapes in the tables below, and in
 *   front of rsync only; `sudo -u other`, `sudo -E`, `doas`, `env`, `timeout`, `chrt`, `stdbuf`
 *   or a wrapper in front of anything else is refused with its own reason (`spelling-refused`).
 * - nc: `/bin/nc`, `netcat`, `nc -q0` (Debian's `ProxyCommand ssh gw nc -q0 %h %p`), `-wN`, `-v`:
 *   read back to `nc [-w N] HOST PORT`. -q is a no-op: the relay half-closes each direction and
 *   ends when both have ended, which is what -q asks of nc. -v is a no-op: nothing is printed.
 *   An nc command with any other option is left as it is, so the relay rule refuses it as before.
 *
 * Pure, and table-driven: the decision (decide/decide.ts) reads the spelling once and hands the
 * plain words to the rules of the kind that serves them; every other rule sees the client's words.
 */

/** A program word: the bare name or any absolute path to it (the path is never run). */
const programWord = (name: string) => new RegExp(`^(?:/[A-Za-z0-9._+/-]*/)?${name.replaceAll('.', '\\.')}$`);
const RSYNC = programWord('rsync');
const NC = /^(?:\/[A-Za-z0-9._+/-]*\/)?(?:nc|netcat|ncat)$/;

/** One option of a wrapper: the words it takes (1 or 2) when `words` starts with it, or 0. */
type OptionShape = { name: string; take: (words: readonly string[]) => number };

const inRange = (text: string | undefined, low: number, high: number, pattern = /^-?[0-9]{1,3}$/) =>
  text !== undefined && pattern.test(text) && Number(text) >= low && Number(text) <= high;
/** `-x VALUE`, `-xVALUE`, `--long=VALUE` (and `--long VALUE`), the value passing `ok`. */
function valued(name: string, short: string, long: string | null, ok: (value: string | undefined) => boolean): OptionShape {
  return {
    name,
    take: ([first, second]) => {
      if (first === short) return ok(second) ? 2 : 0;
      if (first!.startsWith(short) && ok(first!.slice(short.length))) return 1;
      if (long !== null && first === long) return ok(second) ? 2 : 0;
      if (long !== null && first!.startsWith(`${long}=`) && ok(first!.slice(long.length + 1))) return 1;
      return 0;
    },
  };
}
const flag = (name: string, ...spellings: string[]): OptionShape => ({ name, take: ([first]) => (spellings.includes(first!) ? 1 : 0) });

const NICENESS = (value: string | undefined) => inRange(value, -20, 19);
const IONICE_CLASSES = new Set(['0', '1', '2', '3', 'none', 'realtime', 'best-effort', 'idle']);

/**
 * The wrappers taken off in front of rsync, and every option each may carry (each at most once).
 * sudo: only what keeps it the same request, rsync as root without a password prompt; ssh-dispatch
 * runs the rule's rsync as the account the key logs into whatever sudo was asked.
 * nice and ionice: the forms nice(1) and ionice(1) take; the rule's `nice:`/`ionice:` decide.
 */
const WRAPPERS: Record<string, OptionShape[]> = {
  sudo: [flag('n', '-n', '--non-interactive'), valued('u', '-u', '--user', (v) => v === 'root')],
  nice: [
    valued('adjustment', '-n', '--adjustment', NICENESS),
    // The old form: `nice -19` is an adjustment of 19 (never negative this way here: `--5` is not taken).
    { name: 'adjustment', take: ([first]) => (/^-[0-9]{1,2}$/.test(first!) && Number(first!.slice(1)) <= 19 ? 1 : 0) },
  ],
  ionice: [
    valued('class', '-c', '--class', (v) => v !== undefined && IONICE_CLASSES.has(v)),
    valued('classdata', '-n', '--classdata', (v) => inRange(v, 0, 7, /^[0-9]$/)),
    flag('ignore', '-t', '--ignore'),
  ],
};
const WRAPPER_NAMES = Object.keys(WRAPPERS);
const wrapperOf = (word: string | undefined) =>
  word === undefined ? undefined : WRAPPER_NAMES.find((name) => programWord(name).test(word));

/** The nc options read back: -q and -v are no-ops, -w is the relay's own (matchRelay lowers its idle timeout). */
const NC_OPTIONS: OptionShape[] = [
  valued('q', '-q', null, (v) => inRange(v, 0, 99999, /^[0-9]{1,5}$/)),
  valued('w', '-w', null, (v) => inRange(v, 1, 99999, /^[0-9]{1,5}$/)),
  flag('v', '-v'),
];

export type SpellingReading =
  /** Nothing to read back: every rule sees the client's words. */
  | { kind: 'plain' }
  /** The plain words, for the rules of kind `serves`, with the client's spelling of the program (its words before the arguments). */
  | { kind: 'spelled'; serves: 'rsync' | 'relay'; words: string[]; globs: Map<number, string>; spelling: string }
  | { kind: 'refused'; why: string };

const PLAIN: SpellingReading = { kind: 'plain' };

/** The options of `shapes` at the head of `words`: how many words they take, and the value of each, or why not. */
function readOptions(
  words: readonly string[],
  shapes: readonly OptionShape[],
  stop: (word: string) => boolean,
): { taken: number; values: Map<string, string[]> } | { why: string } {
  const values = new Map<string, string[]>();
  let i = 0;
  while (i < words.length && !stop(words[i]!)) {
    const rest = words.slice(i);
    const shape = shapes.find((s) => s.take(rest) > 0);
    if (!shape) return { why: `${JSON.stringify(words[i])} is not an option taken here` };
    if (values.has(shape.name)) return { why: `${JSON.stringify(words[i])} repeats an option` };
    const n = shape.take(rest);
    values.set(shape.name, words.slice(i, i + n));
    i += n;
  }
  return { taken: i, values };
}

/** Globs of the words from `from` on, renumbered from 0 (a glob before it: null). */
function shiftGlobs(globs: ReadonlyMap<number, string>, from: number): Map<number, string> | null {
  const shifted = new Map<number, string>();
  for (const [index, pattern] of globs) {
    if (index < from) return null;
    shifted.set(index - from, pattern);
  }
  return shifted;
}

function readRsync(words: readonly string[], globs: ReadonlyMap<number, string>): SpellingReading {
  const seen = new Set<string>();
  let i = 0;
  for (let wrapper = wrapperOf(words[i]); wrapper !== undefined; wrapper = wrapperOf(words[i])) {
    if (seen.has(wrapper)) return { kind: 'refused', why: `${wrapper} twice in front of rsync` };
    seen.add(wrapper);
    const options = readOptions(words.slice(i + 1), WRAPPERS[wrapper]!, (word) => !word.startsWith('-') || word === '--');
    if ('why' in options)
      return {
        kind: 'refused',
        why: `${wrapper}: ${options.why}; only ${wrapper === 'sudo' ? '`sudo [-n] [-u root]`' : wrapper === 'nice' ? '`nice [-n N | -nN | --adjustment=N | -N]`' : '`ionice [-c CLASS] [-n LEVEL] [-t]`'} is taken in front of rsync`,
      };
    i += 1 + options.taken;
  }
  const program = words[i];
  if (program === undefined || !RSYNC.test(program)) {
    return {
      kind: 'refused',
      why: `${words.slice(0, i).join(' ')} in front of ${program === undefined ? 'nothing' : JSON.stringify(program)}: sudo, nice and ionice are taken only in front of rsync`,
    };
  }
  const shifted = shiftGlobs(globs, i);
  if (shifted === null) return { kind: 'refused', why: 'a wildcard in front of rsync' };
  return {
    kind: 'spelled',
    serves: 'rsync',
    words: ['rsync', ...words.slice(i + 1)],
    globs: shifted,
    spelling: words.slice(0, i + 1).join(' '),
  };
}

function readNc(words: readonly string[], globs: ReadonlyMap<number, string>): SpellingReading {
  if (globs.size > 0) return PLAIN;
  const options = readOptions(words.slice(1), NC_OPTIONS, (word) => !word.startsWith('-'));
  if ('why' in options || words.length !== 1 + options.taken + 2) return PLAIN;
  const wait = options.values.get('w');
  const plain = ['nc', ...(wait ? ['-w', wait.length === 2 ? wait[1]! : wait[0]!.slice(2)] : []), ...words.slice(-2)];
  if (plain.length === words.length && plain.every((word, i) => word === words[i])) return PLAIN;
  return { kind: 'spelled', serves: 'relay', words: plain, globs: new Map(), spelling: words.slice(0, -2).join(' ') };
}

/**
 * The client's words read back to a plain form, refused, or left as they are. Plain `rsync ...`
 * and `nc HOST PORT` are left as they are; so is everything that is neither a wrapper, an rsync
 * behind an unknown wrapper, nor an nc.
 */
export function readSpelling(words: readonly string[], globs: ReadonlyMap<number, string>): SpellingReading {
  const first = words[0];
  if (first === undefined) return PLAIN;
  if (wrapperOf(first) !== undefined) return readRsync(words, globs);
  if (RSYNC.test(first)) return first === 'rsync' ? PLAIN : readRsync(words, globs);
  if (NC.test(first)) return readNc(words, globs);
  // rsync or nc behind a wrapper that is not taken (doas, env, timeout 60, stdbuf -o0, chrt -i 0):
  // refused by name rather than "no rule matched", so the log says what the client did.
  const behind = words.findIndex(
    (word, i) => i > 0 && ((RSYNC.test(word) && words[i + 1] === '--server') || (NC.test(word) && words.length - i >= 3)),
  );
  if (behind > 0)
    return {
      kind: 'refused',
      why: `${JSON.stringify(words.slice(0, behind).join(' '))} in front of ${words[behind]}: only sudo, nice and ionice are taken, and only in front of rsync`,
    };
  return PLAIN;
}

/**
 * The words the rules of `kind` are given: the plain form when the client's spelling wraps the
 * program that kind serves (with the client's spelling of it), the client's own otherwise.
 */
export function wordsFor(
  kind: string,
  spelled: SpellingReading,
  words: string[],
  globs: ReadonlyMap<number, string>,
): { words: string[]; globs: ReadonlyMap<number, string>; spelling: string | null } {
  if (spelled.kind === 'spelled' && spelled.serves === kind)
    return { words: spelled.words, globs: spelled.globs, spelling: spelled.spelling };
  return { words, globs, spelling: null };
}
