/**
 * A rule read back from the compiled policy cache (policy/cache/): the decoder its `kind` names
 * in RULE_DECODERS, which has one row per kind (a kind without a row does not compile), with the
 * frame every rule has (name, where, monitoring). An unknown kind is refused, never guessed.
 */
import { integer, nullable, number, object, string, tagged, type Decoder, type Fields } from '../values/decode.js';
import type { Where } from '../values/reader.js';
import type { RuleBase, RuleBody } from './base.js';
import { EXEC_BODY } from './exec/decode.js';
import type { Rule } from './kinds.js';
import { RECEIVE_BODY } from './receive/decode.js';
import { RELAY_BODY } from './relay/decode.js';
import { RSYNC_BODY } from './rsync/decode.js';
import { SFTP_BODY } from './sftp/decode.js';

export const where: Decoder<Where> = object<Where>({ file: string, line: integer });

const FRAME: Fields<RuleBase> = { name: string, where, expectEvery: nullable(number), minBytes: nullable(number) };

function withFrame<R extends Rule>(body: Fields<RuleBody<R>>): Decoder<R> {
  return object<R>({ ...FRAME, ...body } as unknown as Fields<R>);
}

export const RULE_DECODERS: { [K in Rule['kind']]: Decoder<Extract<Rule, { kind: K }>> } = {
  exec: withFrame(EXEC_BODY),
  rsync: withFrame(RSYNC_BODY),
  receive: withFrame(RECEIVE_BODY),
  relay: withFrame(RELAY_BODY),
  sftp: withFrame(SFTP_BODY),
};

export const rule: Decoder<Rule> = tagged<Rule>('kind', RULE_DECODERS);
