/**
 * The facts about this host a decision depends on, gathered before deciding: for each rule whose
 * kind asks (its `probes`), what the program it names supports. Other requests pay nothing.
 */
import type { Command } from '../decide/command.js';
import type { Identity } from '../policy/schema.js';
import { kindOf, NO_HOST_FACTS, type HostFacts } from '../rules/kinds.js';
import type { RsyncFeatures } from '../rules/rsync/features.js';
import { probeRsync } from './rsync-features.js';

export function gatherHostFacts(identity: Identity, command: Command): HostFacts {
  if (command.empty) return NO_HOST_FACTS;
  const rsync = new Map<string, RsyncFeatures>();
  for (const rule of identity.rules) {
    const program = kindOf(rule.kind).probes?.(rule, command.words, command.spelled) ?? null;
    if (program !== null && !rsync.has(program)) rsync.set(program, probeRsync(program));
  }
  return { rsync };
}
