/** The `receive:` block of a rule, read and checked (docs/policy.md, "receive"). */
import { ABSOLUTE_PATH } from '../../values/paths.js';
import type { Node, Reader } from '../../values/reader.js';
import { parsePolicyDuration, parseSize } from '../../values/units.js';
import { DEFAULT_MIN_FREE, type RuleBody } from '../base.js';
import { TEMPLATE } from './match.js';
import { RECEIVE_KEYS, type ReceiveRule } from './rule.js';

export function parseReceiveRule(reader: Reader, node: Node | null, key: string): RuleBody<ReceiveRule> | null {
  const fields = reader.map(node, key, RECEIVE_KEYS.allowed, RECEIVE_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const size = (name: string, fallback: number) =>
    fields.has(name)
      ? reader.string(fields.get(name) ?? null, `${key}.${name}`, {
          test: (s) => parseSize(s) !== null,
          expected: 'a size such as 100GiB, 512MiB, 1.5GB',
        })
      : String(fallback);
  const dir = reader.string(fields.get('dir') ?? null, `${key}.dir`, ABSOLUTE_PATH);
  const name = reader.string(fields.get('name') ?? null, `${key}.name`, {
    test: (s) => TEMPLATE.test(s) && !s.startsWith('.') && s.length <= 200,
    expected: 'a file name of letters, digits, . _ + - and {timestamp} {date} {time} {id}, not starting with a dot',
  });
  const clientName = fields.has('client-name')
    ? reader.string(fields.get('client-name') ?? null, `${key}.client-name`, {
        test: (s) => !s.includes('/') && !s.startsWith('.') && s.length <= 255,
        expected: 'a file name glob without "/", not starting with a dot',
      })
    : null;
  const acceptEmpty = fields.has('accept-empty') ? reader.boolean(fields.get('accept-empty') ?? null, `${key}.accept-empty`) : false;
  const mode = fields.has('mode') ? reader.octal(fields.get('mode') ?? null, `${key}.mode`, 'mode') : 0o600;
  const maxBytes = size('max-bytes', 100 * 2 ** 30);
  const minFree = size('min-free', DEFAULT_MIN_FREE);
  const idle = fields.has('idle-timeout')
    ? reader.string(fields.get('idle-timeout') ?? null, `${key}.idle-timeout`, {
        test: (s) => parsePolicyDuration(s) !== null,
        expected: 'a duration such as 90s, 10m',
      })
    : '10m';
  const keep = fields.has('keep') ? reader.count(fields.get('keep') ?? null, `${key}.keep`, 1) : null;
  const keepWithin = fields.has('keep-within') ? window(reader, fields.get('keep-within') ?? null, `${key}.keep-within`) : null;
  const maxUploads = fields.has('max-uploads') ? reader.count(fields.get('max-uploads') ?? null, `${key}.max-uploads`, 1) : null;
  // The window and the cap are retention's: without keep nothing is removed, so neither means anything.
  for (const name of ['keep-within', 'max-uploads'] as const) {
    if (fields.has(name) && !fields.has('keep'))
      reader.error(
        fields.get(name),
        `${key}.${name}`,
        `${name} goes with keep (it bounds what keep may remove); add keep: N or remove ${name}`,
      );
  }
  if (keepWithin === 0 && fields.has('max-uploads'))
    reader.error(
      fields.get('max-uploads'),
      `${key}.max-uploads`,
      'max-uploads counts the uploads within keep-within, which is 0 here; give keep-within a duration',
    );
  if (
    reader.errors.length > errorsBefore ||
    dir === null ||
    name === null ||
    acceptEmpty === null ||
    mode === null ||
    maxBytes === null ||
    minFree === null ||
    idle === null
  )
    return null;
  return {
    kind: 'receive',
    dir,
    fileName: name,
    clientName,
    acceptEmpty,
    mode,
    maxBytes: parseSize(maxBytes)!,
    minFreeBytes: parseSize(minFree)!,
    idleTimeoutMs: parsePolicyDuration(idle)!,
    keep,
    keepWithinMs: keepWithin,
    maxUploads,
  };
}

/** keep-within: a duration such as 14d, or 0 (no window: keep is a bare count, as before windows). */
function window(reader: Reader, node: Node | null, key: string): number | null {
  // YAML reads an unquoted 0 as a number (the Reader has no number type for durations).
  if (node !== null && 'value' in node && node.value === 0) return 0;
  const text = reader.string(node, key, {
    test: (s) => s === '0' || parsePolicyDuration(s) !== null,
    expected: 'a duration such as 14d or 36h (at most 366d), or 0 for no window',
  });
  return text === null ? null : text === '0' ? 0 : parsePolicyDuration(text);
}
