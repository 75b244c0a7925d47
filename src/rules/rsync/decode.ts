/** An rsync rule read back from the compiled policy cache (policy/cache/): every key of RsyncRule, checked. */
import { array, boolean, integer, literal, nullable, number, object, oneOf, string, type Fields } from '../../values/decode.js';
import type { RuleBody } from '../base.js';
import type { Priority } from '../priority.js';
import { SECRETS_POLICIES } from '../sandbox.js';
import type { RsyncRule } from './rule.js';

type Ionice = NonNullable<Priority['ionice']>;

const priority = object<Priority>({
  nice: nullable(integer),
  ionice: nullable(
    oneOf<Ionice>(
      'an ionice class',
      object<Ionice>({ class: literal('idle') }),
      object<Extract<Ionice, { class: 'best-effort' }>>({ class: literal('best-effort'), level: nullable(integer) }),
    ),
  ),
});

export const RSYNC_BODY: Fields<RuleBody<RsyncRule>> = {
  kind: literal('rsync'),
  root: string,
  access: literal('read', 'write', 'read-write'),
  delete: boolean,
  maxDelete: nullable(integer),
  minFreeBytes: number,
  overwrite: boolean,
  snapshot: boolean,
  mungeLinks: boolean,
  devices: boolean,
  xattrs: boolean,
  acls: boolean,
  program: string,
  supervise: boolean,
  sandbox: boolean,
  secrets: nullable(literal(...SECRETS_POLICIES)),
  absolutePaths: boolean,
  paths: nullable(array(string)),
  priority,
  singleRun: boolean,
};
