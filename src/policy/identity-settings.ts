/**
 * An identity's settings beyond who it is and what it may run: `max-sessions` and `min-free`
 * (host/limits.ts), and `tell-client` (serve/session.ts: what a refused client is told).
 */
import type { Node, Reader } from '../values/reader.js';
import { parseSize } from '../values/units.js';
import { kindOf, type Rule } from '../rules/kinds.js';
import type { Identity } from './schema.js';

/** The values `tell-client` takes: `nothing` (the default), or `reason` (the refusal's code beside the session). */
export const TELL_CLIENT = ['nothing', 'reason'] as const;

/**
 * The identity's floor is kept by the dispatcher watching rsync, so an rsync rule that may push
 * and is not supervised cannot have it.
 */
export function parseIdentitySettings(
  reader: Reader,
  fields: Map<string, Node | null>,
  key: string,
  rules: Rule[],
): Pick<Identity, 'maxSessions' | 'minFreeBytes' | 'tellClient'> {
  const maxSessions = fields.has('max-sessions')
    ? reader.integer(fields.get('max-sessions') ?? null, `${key}.max-sessions`, 1, 10000, 'a number of sessions')
    : null;
  let minFreeBytes: number | null = null;
  if (fields.has('min-free')) {
    const node = fields.get('min-free') ?? null;
    const text = reader.string(node, `${key}.min-free`, {
      test: (s) => parseSize(s) !== null,
      expected: 'a size such as 20GiB, 512MiB, or 0 for none',
    });
    minFreeBytes = text === null ? null : parseSize(text);
    const unwatched = rules.find((rule) => kindOf(rule.kind).unwatchedWrites(rule));
    if (minFreeBytes && unwatched)
      reader.error(
        node,
        `${key}.min-free`,
        `rule ${unwatched.name} pushes with supervise: false, and only a supervised push can keep a floor; keep supervise: true there, or leave min-free out`,
      );
  }
  const tellClient = fields.has('tell-client')
    ? reader.string(fields.get('tell-client') ?? null, `${key}.tell-client`, {
        test: (s) => (TELL_CLIENT as readonly string[]).includes(s),
        expected: "nothing, or reason (the refusal's code, beside the session id)",
      })
    : null;
  return { maxSessions, minFreeBytes, tellClient: (tellClient as Identity['tellClient'] | null) ?? 'nothing' };
}
