/** The `sftp:` block of a rule, read and checked (docs/policy.md, "sftp"). */
import { ABSOLUTE_PATH } from '../../values/paths.js';
import type { Node, Reader } from '../../values/reader.js';
import { parsePolicyDuration, parseSize } from '../../values/units.js';
import { DEFAULT_MIN_FREE, type RuleBody } from '../base.js';
import { SFTP_KEYS, type SftpAccess, type SftpRule } from './rule.js';

const SFTP_ACCESS: readonly SftpAccess[] = ['read', 'write', 'read-write'];
const DEFAULT_IDLE_TIMEOUT = '10m';

/** `0` or a duration such as 90s, 10m: milliseconds, 0 for none; null otherwise. */
function idleTimeoutMs(text: string): number | null {
  return text === '0' ? 0 : parsePolicyDuration(text);
}

export function parseSftpRule(reader: Reader, node: Node | null, key: string): RuleBody<SftpRule> | null {
  const fields = reader.map(node, key, SFTP_KEYS.allowed, SFTP_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const root = reader.string(fields.get('root') ?? null, `${key}.root`, ABSOLUTE_PATH);
  if (root === '/')
    reader.error(
      fields.get('root') ?? null,
      `${key}.root`,
      'the whole filesystem cannot be an sftp root: name the directory the client may use',
    );
  const access = reader.string(fields.get('access') ?? null, `${key}.access`, {
    test: (s) => (SFTP_ACCESS as readonly string[]).includes(s),
    expected: `one of ${SFTP_ACCESS.join(', ')}`,
  }) as SftpAccess | null;
  const flag = (name: string, fallback: boolean) =>
    fields.has(name) ? reader.boolean(fields.get(name) ?? null, `${key}.${name}`) : fallback;
  const deleting = flag('delete', false);
  const overwrite = flag('overwrite', true);
  const umask = fields.has('umask') ? reader.octal(fields.get('umask') ?? null, `${key}.umask`, 'mask') : 0o077;
  // As for rsync and receive rules: the floor and the timeout are strings, "0" turns either off.
  const minFree = fields.has('min-free')
    ? reader.string(fields.get('min-free') ?? null, `${key}.min-free`, {
        test: (s) => parseSize(s) !== null,
        expected: 'a size such as 1GiB, 512MiB, or "0" for no floor',
      })
    : String(DEFAULT_MIN_FREE);
  const idle = fields.has('idle-timeout')
    ? reader.string(fields.get('idle-timeout') ?? null, `${key}.idle-timeout`, {
        test: (s) => idleTimeoutMs(s) !== null,
        expected: 'a duration such as 90s, 10m, or "0" for none',
      })
    : DEFAULT_IDLE_TIMEOUT;
  if (access === 'read' && deleting === true) {
    // It would say the key may delete; with access: read it writes nothing at all.
    reader.error(
      fields.get('delete') ?? null,
      `${key}.delete`,
      'means nothing with access: read (nothing is written or removed): remove it, or give access: write or read-write',
    );
  }
  if (
    reader.errors.length > errorsBefore ||
    root === null ||
    access === null ||
    deleting === null ||
    overwrite === null ||
    umask === null ||
    minFree === null ||
    idle === null
  )
    return null;
  return {
    kind: 'sftp',
    root,
    access,
    delete: deleting,
    overwrite,
    umask,
    minFreeBytes: parseSize(minFree)!,
    idleTimeoutMs: idleTimeoutMs(idle)!,
  };
}
