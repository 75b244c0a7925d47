/**
 * How nicely a rule's program runs: `nice: N` (0..19) and `ionice: idle | best-effort[:N]` of an
 * rsync rule. The client's own `nice`/`ionice` wrapper is not run (rules/spelling.ts); this is
 * the admin's. Applied by act/exec.ts as an argv prefix, `/usr/bin/ionice -c 3 /usr/bin/nice -n 19
 * PROGRAM ...`: both exec the program in place (same pid, so supervision and the free-space watch
 * are unchanged), work in the sandbox (/usr is bound) and as the account (raising niceness and the
 * idle and best-effort classes need no privilege), and the priority is inherited by the program's
 * own children (rsync's receiver).
 */
import type { Node, Reader } from '../values/reader.js';

export interface Priority {
  /** 0..19; null: the dispatcher's own (not changed). */
  nice: number | null;
  /** I/O scheduling class, with best-effort's level 0..7 (null: derived from niceness by the kernel); null: not changed. */
  ionice: { class: 'idle' } | { class: 'best-effort'; level: number | null } | null;
}

export const NO_PRIORITY: Priority = { nice: null, ionice: null };

export const NICE_PROGRAM = '/usr/bin/nice';
export const IONICE_PROGRAM = '/usr/bin/ionice';

const IONICE = /^(idle|best-effort)(?::([0-7]))?$/;

/** The `nice` and `ionice` keys of a rule block, or null after reporting an error. */
export function parsePriority(reader: Reader, fields: Map<string, Node | null>, key: string): Priority | null {
  let nice: number | null = null;
  if (fields.has('nice')) {
    nice = reader.integer(fields.get('nice') ?? null, `${key}.nice`, 0, 19, 'a niceness');
    if (nice === null) return null;
  }
  let ionice: Priority['ionice'] = null;
  if (fields.has('ionice')) {
    const text = reader.string(fields.get('ionice') ?? null, `${key}.ionice`, {
      test: (s) => IONICE.test(s) && !/^idle:/.test(s),
      expected: 'idle, best-effort or best-effort:N (N 0 to 7)',
    });
    if (text === null) return null;
    const [, klass, level] = IONICE.exec(text)!;
    ionice = klass === 'idle' ? { class: 'idle' } : { class: 'best-effort', level: level === undefined ? null : Number(level) };
  }
  return { nice, ionice };
}

/** The words that go in front of the program's path, or none. */
export function priorityPrefix(priority: Priority | null | undefined): string[] {
  if (!priority) return [];
  const prefix: string[] = [];
  if (priority.ionice)
    prefix.push(
      IONICE_PROGRAM,
      '-c',
      priority.ionice.class === 'idle' ? '3' : '2',
      ...(priority.ionice.class === 'best-effort' && priority.ionice.level !== null ? ['-n', String(priority.ionice.level)] : []),
    );
  if (priority.nice !== null) prefix.push(NICE_PROGRAM, '-n', String(priority.nice));
  return prefix;
}

/** As the record and explain show it: `{ nice: 19, ionice: "idle" }`, only what the rule set. */
export type PriorityFields = { priority?: { nice?: number; ionice?: string } };

export function priorityFields(priority: Priority | null | undefined): PriorityFields {
  if (!priority || (priority.nice === null && priority.ionice === null)) return {};
  const ionice =
    priority.ionice === null
      ? null
      : priority.ionice.class === 'idle'
        ? 'idle'
        : `best-effort${priority.ionice.level === null ? '' : `:${priority.ionice.level}`}`;
  return { priority: { ...(priority.nice !== null ? { nice: priority.nice } : {}), ...(ionice !== null ? { ionice } : {}) } };
}
