/** A receive rule, as checked by ./parse.ts: stdin into a new file, published whole or not at all. */
import type { RuleBase } from '../base.js';

/** The keys of the `receive:` block: what its parser enforces and the JSON Schema is tested against. */
export const RECEIVE_KEYS = {
  allowed: [
    'dir',
    'name',
    'client-name',
    'accept-empty',
    'mode',
    'max-bytes',
    'min-free',
    'idle-timeout',
    'keep',
    'keep-within',
    'max-uploads',
  ],
  required: ['dir', 'name'],
} as const;

export interface ReceiveRule extends RuleBase {
  kind: 'receive';
  /** Absolute; uploads are created in it, never below it. */
  dir: string;
  /** The file name (`name:` in YAML): literal text with {timestamp} {date} {time} {id}; a plain basename. */
  fileName: string;
  /** A basename glob: when set, `receive NAME` may choose the name, if NAME matches it. */
  clientName: string | null;
  /** Also serve a session that sent no command (`tar c . | ssh host`). */
  acceptEmpty: boolean;
  /** The mode of stored files, set explicitly (umask plays no part). */
  mode: number;
  maxBytes: number;
  /** Refuse to fill the filesystem below this many free bytes. */
  minFreeBytes: number;
  idleTimeoutMs: number;
  /** After a successful upload, keep only the newest N files of this rule ... */
  keep: number | null;
  /** ... but never one younger than this (`keep-within`, ms; 0: no window); null: not said, see ./retention.ts. */
  keepWithinMs: number | null;
  /** `max-uploads`: uploads stored within the window past which more are refused; null: not said. */
  maxUploads: number | null;
}
