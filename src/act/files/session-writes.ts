/**
 * The end record's `writes` for an sftp or scp session (audit/writes.ts), built by the dispatcher
 * from the file server's events: what the session left behind, by name. A name the session
 * created and then renamed is reported under its last name (restic writes `X-restic-temp-...` and
 * renames it to `X`); one it created and removed again is not reported at all (restic's lock
 * files), so `created` is what the session added and `removed` what it took of history.
 *
 * Names the session created are held until the end to follow their renames, up to MAX_PENDING;
 * past that the oldest is reported as created at once (a later rename or removal of it is then
 * reported as a removal of that name). Bytes are counted as they are written, whatever becomes
 * of the file.
 */
import { WriteLog, type WritesFacts } from '../../audit/writes.js';
import type { FileEvent } from './events.js';

export const MAX_PENDING = 10_000;

export class SessionWrites {
  private readonly log = new WriteLog();
  /** Files created in this session, by their current name, in the order made. */
  private readonly pending = new Set<string>();
  /** Directories made in this session: removing one again takes nothing of history. */
  private readonly dirs = new Set<string>();

  add(event: FileEvent): void {
    if (event.refused !== undefined) return;
    switch (event.op) {
      case 'write':
        this.log.addBytes(event.bytes ?? 0);
        if (event.replaced) {
          this.pending.delete(event.path);
          this.log.add('replaced', event.path);
        } else if (event.created) this.hold(event.path);
        return;
      case 'remove':
        if (!this.pending.delete(event.path)) this.log.add('removed', event.path);
        return;
      case 'mkdir':
        if (this.dirs.size < MAX_PENDING) this.dirs.add(event.path);
        return;
      case 'rmdir':
        if (!this.dirs.delete(event.path)) this.log.add('removed', event.path);
        return;
      case 'rename': {
        if (event.to === undefined) return;
        const own = this.pending.delete(event.path) || this.renameDirectory(event.path, event.to);
        if (event.replaced && !this.pending.delete(event.to)) this.log.add('replaced', event.to);
        if (own) {
          if (!this.dirs.has(event.to)) this.hold(event.to);
          return;
        }
        // History moved: its old name is gone, the new one holds what was stored.
        this.log.add('removed', event.path);
        if (!event.replaced) this.hold(event.to);
        return;
      }
      default:
    }
  }

  /** A directory the session made, renamed: the names under it go with it. */
  private renameDirectory(from: string, to: string): boolean {
    if (!this.dirs.delete(from)) return false;
    this.dirs.add(to);
    const prefix = `${from}/`;
    for (const name of [...this.pending]) {
      if (!name.startsWith(prefix)) continue;
      this.pending.delete(name);
      this.pending.add(`${to}/${name.slice(prefix.length)}`);
    }
    return true;
  }

  private hold(name: string): void {
    this.pending.delete(name);
    this.pending.add(name);
    if (this.pending.size <= MAX_PENDING) return;
    const oldest = this.pending.values().next().value as string;
    this.pending.delete(oldest);
    this.log.add('created', oldest);
  }

  facts(): WritesFacts {
    for (const name of this.pending) this.log.add('created', name);
    this.pending.clear();
    return this.log.facts();
  }
}
