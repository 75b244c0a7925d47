/** A relay rule read back from the compiled policy cache (policy/cache/): every key of RelayRule, checked. */
import { addressRange } from '../../values/address-decode.js';
import { array, integer, literal, nullable, number, object, string, type Fields } from '../../values/decode.js';
import type { RuleBody } from '../base.js';
import type { RelayRule, RelayTarget } from './rule.js';

const target = object<RelayTarget>({ text: string, name: nullable(string), range: nullable(addressRange), port: integer });

export const RELAY_BODY: Fields<RuleBody<RelayRule>> = {
  kind: literal('relay'),
  to: array(target),
  idleTimeoutMs: number,
  connectTimeoutMs: number,
};
