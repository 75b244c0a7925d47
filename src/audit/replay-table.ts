/** What `ssh-dispatch replay` prints: each changed request as a block, then what was not replayed and why. */
import type { DenyReason } from '../values/deny-reason.js';
import { printable } from '../values/printable.js';
import { localTime, pad } from './log-table.js';
import { REFUSED_BY, verdictText, type ReplayResult } from './replay.js';

/** Why records were not decided again, for people: by `skipped` key, or by where a refusal code came from. */
const SKIPPED_WHY: Record<string, string> = {
  foreign: "in an account's log, not counted (ssh-dispatch logs marks them)",
  learn: 'learn mode: nothing was decided',
  cut: 'the request was cut to fit the record',
  incomplete: 'the record lacks a field the decision needs (an older log)',
  host: 'refused by this host after a rule allowed it',
  dispatcher: 'refused before the policy decided',
  unrecorded: "the record does not hold the certificate's validity",
};

function skippedWhy(key: string): string {
  if (Object.hasOwn(SKIPPED_WHY, key)) return SKIPPED_WHY[key]!;
  return SKIPPED_WHY[Object.hasOwn(REFUSED_BY, key) ? REFUSED_BY[key as DenyReason] : 'dispatcher']!;
}

export interface ReplayHeading {
  /** The policy decided under, as given. */
  policy: string;
  since: Date;
  /** The window as given: `7 days`, `24h`. */
  window: string;
  /** The distinct changes kept at most, for the truncation line. */
  maxChanges: number;
  /** What "before" is: the served version, or the recorded decisions. */
  before: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The text, a line at a time (each ending in a newline): written as it is made, a list cut at
 * 100,000 changes is never one string in memory (cli/replay.ts).
 */
export function* replayText(result: ReplayResult, heading: ReplayHeading): Generator<string> {
  yield printable(
    `Replayed under ${heading.policy}: ${plural(result.records, 'decision record')} of the last ${heading.window} (since ${localTime(heading.since.toISOString())}), ${result.replayed} decided again; before is ${heading.before}.`,
  ) + '\n';
  const changedRecords = result.changes.reduce((sum, change) => sum + change.count, 0);
  if (result.changes.length === 0 && result.truncated === 0) yield 'No recorded request would be decided differently.\n';
  else
    yield `${plural(result.changes.length, 'request')} would be decided differently (${plural(changedRecords + result.truncated, 'record')}):\n`;
  for (const change of result.changes) {
    // Each line escaped on its own: printable() escapes a newline too.
    const command = change.command === null ? '(no command)' : change.command;
    const lines = [`${change.id}  ${command}`, `  before  ${verdictText(change.before)}`, `  after   ${verdictText(change.after)}`];
    yield `\n${lines.map(printable).join('\n')}\n`;
    yield `  seen    ${plural(change.count, 'time')}, first ${localTime(change.first)}, last ${localTime(change.last)}\n`;
  }
  if (result.truncated > 0)
    yield `\nCut: ${plural(result.truncated, 'more record')} of changed requests not listed (more than ${heading.maxChanges} distinct requests, or their commands too long to keep).\n`;
  yield `\nUnchanged: ${result.unchanged}; refused before and after, for another reason: ${result.otherRefusal}.\n`;
  const skipped = Object.entries(result.skipped);
  if (skipped.length === 0) return;
  yield `Not replayed: ${plural(
    skipped.reduce((sum, [, n]) => sum + n, 0),
    'record',
  )}:\n`;
  const width = Math.max(...skipped.map(([key]) => key.length));
  for (const [key, count] of skipped) yield `${printable(`  ${pad(key, width)}  ${String(count).padStart(7)}  ${skippedWhy(key)}`)}\n`;
}

export function formatReplay(result: ReplayResult, heading: ReplayHeading): string {
  return [...replayText(result, heading)].join('');
}

/** `--json`: one object, `head`'s fields then the result's, made a change at a time like the text. */
export function* replayJson(result: ReplayResult, head: Record<string, unknown>): Generator<string> {
  const { changes, skipped, ...counts } = result;
  yield `${JSON.stringify({ ...head, ...counts }).slice(0, -1)},"changes":[`;
  for (const [i, change] of changes.entries()) yield `${i === 0 ? '' : ','}${JSON.stringify(change)}`;
  yield `],"skipped":${JSON.stringify(skipped)}}\n`;
}
