/**
 * The free-space floor of a file session (min-free in docs/policy.md, "sftp"): a write that would
 * leave less than the floor free on the filesystem of the rule's root is refused before it is
 * made. SFTP WRITEs and legacy scp's file data are asked about here, byte counts in hand.
 *
 * When to look: statfs costs about as much as writing 32 KiB to the page cache (measured: 1.2 µs
 * against 2.6 µs), so a look per WRITE would nearly halve what the server can write. As in the
 * receive rule (act/receive.ts), one look grants an allowance: a share of the headroom above the
 * floor (1/SPACE_SHARE of it, from SPACE_STEP_MIN to SPACE_STEP_MAX), never more than the
 * headroom itself; the next look comes when the allowance is written. Far from the floor that is
 * a look every 64 MiB; near it, one every write. A session alone never writes past the floor;
 * sessions writing at once each see what all have written, so up to SPACE_SHARE of them keep it
 * too, and more can undershoot it by SPACE_STEP_MIN each at most.
 *
 * What is counted is the bytes a write carries, rounded up to whole 4 KiB blocks: a write over
 * existing contents is counted though it takes no new space (so at the floor nothing is written at
 * all), and what a filesystem spends on metadata is not.
 */
import { statfsSync } from 'node:fs';

export const SPACE_SHARE = 32;
export const SPACE_STEP_MIN = 256 * 1024;
export const SPACE_STEP_MAX = 64 * 1024 * 1024;
const BLOCK = 4096;

/** Bytes free to unprivileged writers on a filesystem: what the floor is kept against. */
export type FreeBytes = () => number;

/** What a file session needs besides its policy; tests put a fake in place of statfs. */
export interface SessionOptions {
  /** Free bytes on root's filesystem; default: statfs on the root. */
  freeBytes?: FreeBytes;
}

/**
 * What the client is told when a write is refused at the floor: in an SFTP status message
 * (OpenSSH's sftp prints the status code's own text instead; WinSCP, rclone and pkg/sftp print
 * this), and in legacy scp's error line, which the client prints as it is.
 */
export const FLOOR_MESSAGE = 'No space left on device (the server keeps min-free bytes free)';

/** statfs on `path` (the rule's root, resolved once when the session starts: never a client's path). */
export function statfsFree(path: string): FreeBytes {
  return () => {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  };
}

export class SpaceFloor {
  /** Bytes that may still be written before the next look. */
  private allowance = 0;

  constructor(
    /** 0: no floor, nothing is ever looked at. */
    readonly floor: number,
    private readonly free: FreeBytes,
  ) {}

  /** The headroom above the floor now: free space less the floor (0 when it cannot be known: fail closed). */
  private look(): number {
    let free: number;
    try {
      free = this.free();
    } catch {
      free = 0;
    }
    return free - this.floor;
  }

  /** Whether `bytes` more may be written; counted against the allowance when they may. */
  admit(bytes: number): boolean {
    if (this.floor === 0) return true;
    const cost = Math.ceil(bytes / BLOCK) * BLOCK;
    if (cost <= this.allowance) {
      this.allowance -= cost;
      return true;
    }
    const headroom = this.look();
    if (headroom < cost) {
      this.allowance = 0;
      return false;
    }
    const step = Math.min(headroom, Math.min(SPACE_STEP_MAX, Math.max(SPACE_STEP_MIN, Math.floor(headroom / SPACE_SHARE))));
    this.allowance = Math.max(0, step - cost);
    return true;
  }

  /**
   * Whether a file of `bytes` fits above the floor now, by a fresh look (scp announces each
   * file's size before its data): nothing is counted, the data is still admitted as it comes.
   */
  fits(bytes: number): boolean {
    if (this.floor === 0) return true;
    this.allowance = 0;
    return this.look() >= Math.ceil(bytes / BLOCK) * BLOCK;
  }
}
