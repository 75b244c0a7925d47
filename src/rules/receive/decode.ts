/** A receive rule read back from the compiled policy cache (policy/cache/): every key of ReceiveRule, checked. */
import { boolean, integer, literal, nullable, number, string, type Fields } from '../../values/decode.js';
import type { RuleBody } from '../base.js';
import type { ReceiveRule } from './rule.js';

export const RECEIVE_BODY: Fields<RuleBody<ReceiveRule>> = {
  kind: literal('receive'),
  dir: string,
  fileName: string,
  clientName: nullable(string),
  acceptEmpty: boolean,
  mode: integer,
  maxBytes: number,
  minFreeBytes: number,
  idleTimeoutMs: number,
  keep: nullable(integer),
  keepWithinMs: nullable(number),
  maxUploads: nullable(integer),
};
