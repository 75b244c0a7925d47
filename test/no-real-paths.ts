// Tests write only into their own temp dirs (issue 27): a test that changes the machine's real
// audit log directory or policy directory (a request denied under the default policy path writes
// its record to /var/log/ssh-dispatch/audit.jsonl) fails here, naming what changed. A snapshot
// of each directory (its entries' sizes and change times) is taken before every test and compared
// after it. Another program writing them at the same moment would show here too: on a test
// machine, nothing should. The dispatcher does not create a missing log directory, so on a
// machine without one a stray write is lost (or goes to syslog) and shows only as the directory
// appearing; to see every such write, run a project as root with a /var/log of its own:
//   unshare --mount --propagation private sh -c \
//     'mount -t tmpfs tmpfs /var/log && mkdir -m 700 /var/log/ssh-dispatch && vitest run --project e2e'
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export const REAL_PATHS = ['/var/log/ssh-dispatch', '/etc/ssh-dispatch'];

/** Each directory and its entries (one level, and the files in its subdirectories), as `path size ctime` lines. */
export function snapshot(dirs: readonly string[] = REAL_PATHS): string[] {
  const lines: string[] = [];
  const add = (path: string, depth: number) => {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      lines.push(`${path} absent`);
      return;
    }
    lines.push(`${path} ${stat.size} ${stat.ctimeMs} ${stat.mtimeMs}`);
    if (!stat.isDirectory() || depth > 1) return;
    let names: string[] = [];
    try {
      names = readdirSync(path).sort();
    } catch {
      return; // unreadable: its own line still shows a change of its entries (mtime)
    }
    for (const name of names) add(join(path, name), depth + 1);
  };
  for (const dir of dirs) add(dir, 0);
  return lines;
}

/** What differs between two snapshots, one line each; empty when nothing does. */
export function changes(before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  const is = new Set(after);
  return [...before.filter((l) => !is.has(l)).map((l) => `before: ${l}`), ...after.filter((l) => !was.has(l)).map((l) => `after:  ${l}`)];
}

let before: string[] = [];
beforeEach(() => {
  before = snapshot();
});
afterEach(() => {
  const changed = changes(before, snapshot());
  if (changed.length > 0)
    throw new Error(
      `this test changed the machine's real ${REAL_PATHS.join(' or ')} (tests write only into their own temp dirs):\n${changed.join('\n')}`,
    );
});
