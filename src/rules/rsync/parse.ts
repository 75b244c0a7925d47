/** The `rsync:` block of a rule, read and checked (docs/policy.md, "rsync"). */
import { ABSOLUTE_PATH, isWithin } from '../../values/paths.js';
import type { Node, Reader } from '../../values/reader.js';
import { parseSize } from '../../values/units.js';
import { DEFAULT_MIN_FREE, type RuleBody } from '../base.js';
import { parsePriority } from '../priority.js';
import { RSYNC_KEYS, type RsyncAccess, type RsyncRule } from './rule.js';
import { readSecretsPolicy, type SecretsPolicy } from '../sandbox.js';

const RSYNC_ACCESS: readonly RsyncAccess[] = ['read', 'write', 'read-write'];

/** A boolean key of the block, or `fallback` when it is not given; null (and an error) when it is not a boolean. */
type Flag = (name: string, fallback: boolean) => boolean | null;
type Fields = Map<string, Node | null>;

export function parseRsyncRule(reader: Reader, node: Node | null, key: string): RuleBody<RsyncRule> | null {
  const fields = reader.map(node, key, RSYNC_KEYS.allowed, RSYNC_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const root = reader.string(fields.get('root') ?? null, `${key}.root`, ABSOLUTE_PATH);
  const access = reader.string(fields.get('access') ?? null, `${key}.access`, {
    test: (s) => (RSYNC_ACCESS as readonly string[]).includes(s),
    expected: `one of ${RSYNC_ACCESS.join(', ')}`,
  }) as RsyncAccess | null;
  const flag: Flag = (name, fallback) => (fields.has(name) ? reader.boolean(fields.get(name) ?? null, `${key}.${name}`) : fallback);
  const deleting = flag('delete', false);
  const maxDelete = parseMaxDelete(reader, fields, key, deleting);
  const minFree = parseMinFree(reader, fields, key);
  const supervise = parseSupervise(reader, fields, key, flag, { access, minFree });
  const secrets = parseSecrets(reader, fields, key, flag, access);
  const paths = parsePaths(reader, fields, key, root);
  if (paths !== null && fields.has('sandbox') && flag('sandbox', true) === false) {
    // The sandbox is what keeps rsync inside the listed subtrees when it follows a symlink in one
    // (its --confine-root bounds only root, which is often /): found in review.
    reader.error(
      fields.get('sandbox') ?? null,
      `${key}.sandbox`,
      'paths: needs the sandbox (rsync could follow a symlink inside one of the paths out of it); remove sandbox: false, or use one rule per path with its own root',
    );
  }
  const snapshot = parseSnapshot(reader, fields, key, flag, { access, paths });
  const rule = {
    kind: 'rsync' as const,
    root,
    access,
    delete: deleting,
    maxDelete,
    minFreeBytes: minFree === null ? 0 : parseSize(minFree)!,
    overwrite: flag('overwrite', true),
    snapshot,
    mungeLinks: flag('munge-links', true),
    devices: flag('devices', false),
    xattrs: flag('xattrs', false),
    acls: flag('acls', false),
    program: fields.has('program') ? reader.string(fields.get('program') ?? null, `${key}.program`, ABSOLUTE_PATH) : '/usr/bin/rsync',
    supervise,
    sandbox: flag('sandbox', true),
    secrets,
    absolutePaths: flag('absolute-paths', false),
    paths,
    priority: parsePriority(reader, fields, key),
    singleRun: flag('single-run', false),
  };
  if (reader.errors.length > errorsBefore) return null;
  return rule as RuleBody<RsyncRule>;
}

/** `max-delete:`, a count that only a rule with `delete: true` may give; null when not given. */
function parseMaxDelete(reader: Reader, fields: Fields, key: string, deleting: boolean | null): number | null {
  if (!fields.has('max-delete')) return null;
  const maxNode = fields.get('max-delete') ?? null;
  const count = reader.count(maxNode, `${key}.max-delete`, 0);
  if (count !== null && deleting !== true) {
    reader.error(maxNode, `${key}.max-delete`, 'needs delete: true (without it nothing may be deleted at all)');
    return null;
  }
  return count;
}

/** `min-free:` as written (a size, 0 for no floor), or the default floor; null when it is not a size. */
function parseMinFree(reader: Reader, fields: Fields, key: string): string | null {
  if (!fields.has('min-free')) return String(DEFAULT_MIN_FREE);
  return reader.string(fields.get('min-free') ?? null, `${key}.min-free`, {
    test: (s) => parseSize(s) !== null,
    expected: 'a size such as 1GiB, 512MiB, or 0 for no floor',
  });
}

/** `supervise:` (default true), which a rule that takes pushes with a free-space floor needs. */
function parseSupervise(
  reader: Reader,
  fields: Fields,
  key: string,
  flag: Flag,
  rule: { access: RsyncAccess | null; minFree: string | null },
): boolean | null {
  const supervise = flag('supervise', true);
  if (supervise === false && rule.access !== 'read' && rule.minFree !== null && parseSize(rule.minFree) !== 0) {
    // The floor is kept by the dispatcher watching rsync; a dispatcher replaced by execve cannot.
    reader.error(
      fields.get('supervise') ?? null,
      `${key}.supervise`,
      'supervise: false cannot keep min-free for pushes; set min-free: 0 to go without a floor, or keep supervise: true',
    );
  }
  return supervise;
}

/** `secrets:`, which needs the sandbox and a rule that reads; null when not given. */
function parseSecrets(reader: Reader, fields: Fields, key: string, flag: Flag, access: RsyncAccess | null): SecretsPolicy | null {
  if (!fields.has('secrets')) return null;
  const secretsNode = fields.get('secrets') ?? null;
  const secrets = readSecretsPolicy(reader, secretsNode, `${key}.secrets`);
  if (secrets !== null && flag('sandbox', true) === false)
    reader.error(
      secretsNode,
      `${key}.secrets`,
      'needs the sandbox (without it rsync reads every file the account can); remove sandbox: false or secrets:',
    );
  else if (secrets !== null && access === 'write')
    reader.error(secretsNode, `${key}.secrets`, 'a write-only rule reads nothing back: remove secrets:');
  return secrets;
}

/** `snapshot:` (default false), which shapes pushes: not for a read rule, nor with `paths:`. */
function parseSnapshot(
  reader: Reader,
  fields: Fields,
  key: string,
  flag: Flag,
  rule: { access: RsyncAccess | null; paths: string[] | null },
): boolean | null {
  const snapshot = flag('snapshot', false);
  if (snapshot === true) {
    const at = fields.get('snapshot') ?? null;
    if (rule.access === 'read')
      reader.error(at, `${key}.snapshot`, 'snapshot: true shapes pushes; a read rule makes none (use access: write)');
    else if (rule.paths !== null)
      reader.error(
        at,
        `${key}.snapshot`,
        'snapshot: true makes each push one new directory directly under root; it does not combine with paths:',
      );
  }
  return snapshot;
}

/** `paths:`: subtrees of root, each listed once and none inside another; null when not given (all of root). */
function parsePaths(reader: Reader, fields: Fields, key: string, root: string | null): string[] | null {
  if (!fields.has('paths')) return null;
  const pathsNode = fields.get('paths') ?? null;
  const paths = reader.stringList(pathsNode, `${key}.paths`, ABSOLUTE_PATH);
  if (paths !== null && root !== null) {
    const outside = paths.find((path) => !isWithin(path, root));
    if (paths.length === 0) reader.error(pathsNode, `${key}.paths`, 'expected at least one path (leave paths out for all of root)');
    else if (outside !== undefined) reader.error(pathsNode, `${key}.paths`, `${outside} is not under root ${root}`);
    else {
      const nested = paths.find((path, i) => paths!.some((other, j) => i !== j && isWithin(path, other)));
      if (nested !== undefined)
        reader.error(pathsNode, `${key}.paths`, `${nested} is listed twice or lies in another of the paths: list each subtree once`);
    }
  }
  return paths;
}
