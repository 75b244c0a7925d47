/**
 * What a write session did to the names under its rule (docs/threat-model.md, "What a session wrote is on
 * record by name"): the names it created, replaced and removed, and the bytes it wrote. Every
 * write kind (rsync pushes, receive, sftp and scp) reports through one WriteLog, so the end record
 * has one shape and `logs --path` one place to look.
 *
 * Bounded whatever the client does: each list keeps its first MAX_NAMES names, counts the rest,
 * and a running sha256 covers every name in the order reported, so the whole list can be
 * recognised (and a list kept elsewhere checked) though it is not kept.
 */
import { crypto } from '../lazy-builtins.js';

/** Names kept per list in the record, and the characters they may take: three full lists stay well inside MAX_RECORD_BYTES. */
export const MAX_NAMES = 100;
export const MAX_LIST_CHARS = 3000;

export type WriteOp = 'created' | 'replaced' | 'removed';

/** The end record's `writes` field. */
export interface WritesFacts {
  created: string[];
  replaced: string[];
  removed: string[];
  /** How many names each list had in all (the lists keep the first MAX_NAMES). */
  created_count: number;
  replaced_count: number;
  removed_count: number;
  /** Bytes written into created and replaced files. */
  bytes: number;
  /** sha256 (hex) of every reported line `OP<TAB>NAME<LF>`, in order. */
  sha256: string;
}

export class WriteLog {
  private readonly lists: Record<WriteOp, string[]> = { created: [], replaced: [], removed: [] };
  private readonly counts: Record<WriteOp, number> = { created: 0, replaced: 0, removed: 0 };
  private readonly chars: Record<WriteOp, number> = { created: 0, replaced: 0, removed: 0 };
  private readonly digest = crypto().createHash('sha256');
  private bytes = 0;

  add(op: WriteOp, name: string, bytes = 0): void {
    this.counts[op]++;
    // A list stops growing at either bound and never resumes: it is always a head of the whole.
    const full = this.lists[op].length < this.counts[op] - 1;
    if (!full && this.lists[op].length < MAX_NAMES && this.chars[op] + name.length + 3 <= MAX_LIST_CHARS) {
      this.lists[op].push(name);
      this.chars[op] += name.length + 3;
    }
    this.digest.update(`${op}\t${name}\n`);
    this.bytes += bytes;
  }

  /** Bytes written with no name to report (a resumed file, a part of one). */
  addBytes(bytes: number): void {
    this.bytes += bytes;
  }

  facts(): WritesFacts {
    return {
      created: [...this.lists.created],
      replaced: [...this.lists.replaced],
      removed: [...this.lists.removed],
      created_count: this.counts.created,
      replaced_count: this.counts.replaced,
      removed_count: this.counts.removed,
      bytes: this.bytes,
      sha256: this.digest.copy().digest('hex'),
    };
  }
}

/** Whether `facts` names `path` (a name as the record has it, or a directory above one). */
export function writesName(facts: Partial<WritesFacts>, path: string): boolean {
  const under = (name: unknown) => typeof name === 'string' && (name === path || name.startsWith(path.endsWith('/') ? path : `${path}/`));
  return [facts.created, facts.replaced, facts.removed].some((list) => Array.isArray(list) && list.some(under));
}
