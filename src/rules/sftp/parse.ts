/** The `sftp:` block of a rule, read and checked (docs/policy.md, "sftp"). */
import { ABSOLUTE_PATH } from '../../values/paths.js';
import type { Node, Reader } from '../../values/reader.js';
import type { RuleBody } from '../base.js';
import { SFTP_KEYS, type SftpAccess, type SftpRule } from './rule.js';

const SFTP_ACCESS: readonly SftpAccess[] = ['read', 'write', 'read-write'];

export function parseSftpRule(reader: Reader, node: Node | null, key: string): RuleBody<SftpRule> | null {
  const fields = reader.map(node, key, SFTP_KEYS.allowed, SFTP_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const root = reader.string(fields.get('root') ?? null, `${key}.root`, ABSOLUTE_PATH);
  if (root === '/') reader.error(fields.get('root') ?? null, `${key}.root`, 'the whole filesystem cannot be an sftp root: name the directory the client may use');
  const access = reader.string(fields.get('access') ?? null, `${key}.access`, {
    test: (s) => (SFTP_ACCESS as readonly string[]).includes(s),
    expected: `one of ${SFTP_ACCESS.join(', ')}`,
  }) as SftpAccess | null;
  const flag = (name: string, fallback: boolean) => (fields.has(name) ? reader.boolean(fields.get(name) ?? null, `${key}.${name}`) : fallback);
  const deleting = flag('delete', false);
  const overwrite = flag('overwrite', true);
  const umask = fields.has('umask') ? reader.octal(fields.get('umask') ?? null, `${key}.umask`, 'mask') : 0o077;
  if (access === 'read' && deleting === true) {
    // It would say the key may delete; with access: read it writes nothing at all.
    reader.error(fields.get('delete') ?? null, `${key}.delete`, 'means nothing with access: read (nothing is written or removed): remove it, or give access: write or read-write');
  }
  if (reader.errors.length > errorsBefore || root === null || access === null || deleting === null || overwrite === null || umask === null) return null;
  return { kind: 'sftp', root, access, delete: deleting, overwrite, umask };
}
