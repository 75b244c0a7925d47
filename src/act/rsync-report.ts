/**
 * What an rsync push changed, as rsync's own receiver reports it: with `--log-file=/proc/self/fd/3
 * --log-file-format='TOKEN %i %l %n'` (rules/rsync/match.ts) it writes one line per name it
 * created, changed or deleted, prefixed with its clock and pid; TOKEN is the session's id, which
 * the messages a client makes rsync log lack:
 *
 *   2026/12/06 20:31:11 [7533] TOKEN >f+++++++++ 8 f2       a file received under a new name
 *   2026/12/06 20:31:11 [7533] TOKEN cd+++++++++ 4096 new/  a directory (cL: symlink, hf: hard link)
 *   2026/12/06 20:31:11 [7529] TOKEN >f.s....... 8 f2       an existing name received again
 *   2026/12/06 20:31:11 [7529] TOKEN .f...p..... 6 f1       an existing name's attributes changed
 *   2026/12/06 20:31:11 [7476] TOKEN *deleting   0 sub/g    a name deleted
 *
 * Files linked unchanged from --link-dest are not reported: a snapshot's list is what differs
 * from its basis. rsync is less trusted than the dispatcher (a hostile client drives it), so a
 * line that does not parse, or lacks the token, is dropped and counted, never an error.
 */
import { WriteLog, type WriteOp } from '../audit/writes.js';

const LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] (\S+) (.{11}) (\d{1,20}) (.+)$/;

export interface ReportedChange {
  op: WriteOp;
  /** Relative to root: the destination joined with the name rsync logged. */
  name: string;
  /** Bytes of a file received, else 0. */
  bytes: number;
}

/** One line of rsync's log as a change, or null (a message, a client's forgery, a summary, nothing changed). */
export function readReportLine(line: string, dest: string, token: string): ReportedChange | null {
  const match = LINE.exec(line);
  if (!match || match[1] !== token) return null;
  const [, , item, length, logged] = match as unknown as [string, string, string, string, string];
  const name = joinReported(dest, logged);
  if (item === '*deleting  ') return { op: 'removed', name, bytes: 0 };
  const kind = item[0]!;
  const changes = item.slice(2);
  if (!'<>ch.'.includes(kind)) return null;
  if (/^\++$/.test(changes)) return { op: 'created', name, bytes: kind === '>' ? Number(length) : 0 };
  // No letter set and nothing received: nothing changed (an unchanged name, a hard link that was already there).
  if (kind !== '>' && /^[. ]+$/.test(changes)) return null;
  return { op: 'replaced', name, bytes: kind === '>' ? Number(length) : 0 };
}

/** `dest/name`, with "./" (the destination itself) and a destination of "." folded away. */
function joinReported(dest: string, name: string): string {
  const base = dest.replace(/^\.\/?$/, '').replace(/\/+$/, '');
  if (name === './' || name === '.') return base === '' ? './' : `${base}/`;
  return base === '' ? name : `${base}/${name}`;
}

/** A WriteLog fed line by line; `unread` counts the lines that were not changes. */
export class RsyncReport {
  readonly writes = new WriteLog();
  unread = 0;

  /**
   * `destMade`: the dispatcher made the destination (a snapshot), so nothing in it existed before
   * the push: rsync's attribute changes there (its "./", the directories it made) are creations.
   */
  constructor(
    private readonly dest: string,
    private readonly token: string,
    private readonly destMade = false,
  ) {}

  line(text: string): void {
    const change = readReportLine(text, this.dest, this.token);
    if (change === null) this.unread++;
    else if (this.destMade && change.op === 'replaced') this.writes.add('created', change.name, change.bytes);
    else this.writes.add(change.op, change.name, change.bytes);
  }
}
