/** An sftp rule read back from the compiled policy cache (policy/cache/): every key of SftpRule, checked. */
import { boolean, integer, literal, number, string, type Fields } from '../../values/decode.js';
import type { RuleBody } from '../base.js';
import type { SftpRule } from './rule.js';

export const SFTP_BODY: Fields<RuleBody<SftpRule>> = {
  kind: literal('sftp'),
  root: string,
  access: literal('read', 'write', 'read-write'),
  delete: boolean,
  overwrite: boolean,
  umask: integer,
  minFreeBytes: number,
  idleTimeoutMs: number,
};
