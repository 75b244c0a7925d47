/**
 * A process's /proc/PID/stat, read the one safe way: the command name (field 2) may hold spaces
 * and parentheses, so the fields are those after its last ")". Index 0 is field 3 (the state):
 * field N is at N - 3.
 */
import { readFileSync } from 'node:fs';

/** The fields after the command name, or null when there is no such process (any more). */
export function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
