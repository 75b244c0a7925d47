/**
 * What sshd itself may open for an identity's key (`ssh -W`, ProxyJump, `ssh -L`): the
 * destinations of its rules that sshd's permitopen can express, each once, in policy order; and
 * those it cannot (relay/hops.ts), which only the dispatcher's own `nc %h %p` reaches.
 */
import { kindOf, type Rule } from './kinds.js';
import type { Hops } from './relay/hops.js';

export type { Hops } from './relay/hops.js';

export function identityHops(rules: readonly Rule[]): Hops {
  const open = new Set<string>();
  const unexpressed = new Set<string>();
  for (const rule of rules) {
    const hops = kindOf(rule.kind).hops(rule);
    for (const entry of hops.open) open.add(entry);
    for (const text of hops.unexpressed) unexpressed.add(text);
  }
  return { open: [...open], unexpressed: [...unexpressed] };
}
