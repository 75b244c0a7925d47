/**
 * The audit records (DESIGN.md "The decision and its record"), built from values only.
 * One `decision` record per connection before anything runs; one `end` record when it finishes,
 * if the dispatcher is still there to see it (not after execve: see supervise in schema.ts).
 */
import type { Decision } from '../decide/decide.js';
import type { ClientAddress, Request } from '../request/request.js';
import { boundedCommand } from './escape.js';

export type DecisionRecord = Record<string, unknown> & { event: 'decision'; decision: 'allow' | 'deny' | 'learn' };

export function formatClient(client: ClientAddress | null): string | null {
  if (!client) return null;
  return client.address.includes(':') ? `[${client.address}]:${client.port}` : `${client.address}:${client.port}`;
}

export function decisionRecord(session: string, request: Request, decision: Decision): DecisionRecord {
  const record: DecisionRecord = {
    ts: request.now.toISOString(),
    event: 'decision',
    session,
    id: request.identity,
    user: request.user,
    client: formatClient(request.client),
    key: request.keys?.[0] ?? null,
    ...(request.keys && request.keys.length > 1 ? { keys: request.keys } : {}),
    ...(request.command === null ? { command: null } : boundedCommand(request.command)),
    decision: decision.decision,
  };
  if (decision.decision === 'allow') {
    record.rule = decision.rule.name;
    record.rule_at = `${decision.rule.where.file}:${decision.rule.where.line}`;
    const plan = decision.plan;
    if (plan.kind === 'exec') {
      record.argv = plan.argv;
      if (plan.cwd !== null) record.cwd = plan.cwd;
      if (!plan.supervise) record.handoff = 'execve';
    } else if (plan.kind === 'receive') {
      record.receive = { dir: plan.dir, name: plan.name };
    } else {
      record.relay = { host: plan.host, port: plan.port, allowed_by: plan.allowedBy };
    }
  } else {
    record.reason = decision.reason;
    record.detail = decision.detail.slice(0, 1024);
  }
  return record;
}

/**
 * A learn-mode record: what the client sent, and what the policy (if it loads) would have
 * decided; nothing runs. `ssh-dispatch suggest` turns these into rules.
 */
export function learnRecord(session: string, request: Request, would: Decision | null): DecisionRecord {
  const record = decisionRecord(session, request, would ?? { decision: 'deny', reason: 'policy-unloadable', detail: '', words: null, trace: [] });
  delete record.rule;
  delete record.rule_at;
  delete record.argv;
  delete record.receive;
  delete record.relay;
  delete record.handoff;
  delete record.reason;
  delete record.detail;
  record.decision = 'learn';
  record.would = would === null ? null : would.decision === 'allow' ? `allow by rule ${would.rule.name}` : `deny: ${would.reason}`;
  return record;
}

export interface EndFacts {
  rule: string;
  exit: number;
  signal: string | null;
  durationMs: number;
  outcome: 'exited' | 'signaled' | 'timeout' | 'start-failed' | ReceiveOutcomeName | RelayOutcomeName;
  error?: string;
  /** receive rules: what was stored (or how far it got). */
  file?: string;
  bytes?: number;
  sha256?: string;
  pruned?: string[];
  /** A push stopped at its free-space floor: the temporary files removed, the files written in place that were kept. */
  removed?: string[];
  kept?: string[];
  /** relay rules: the address connected to, and the bytes each way. */
  address?: string;
  bytesIn?: number;
  bytesOut?: number;
}

/** How a receive ended: stored, or why nothing was. */
export type ReceiveOutcomeName = 'stored' | 'aborted' | 'too-large' | 'no-space' | 'idle-timeout' | 'mismatch' | 'error';

/** How a relay ended. */
export type RelayOutcomeName = 'closed' | 'idle-timeout' | 'connect-failed';

export function endRecord(session: string, identity: string, now: Date, facts: EndFacts): Record<string, unknown> {
  return {
    ts: now.toISOString(),
    event: 'end',
    session,
    id: identity,
    rule: facts.rule,
    outcome: facts.outcome,
    exit: facts.exit,
    ...(facts.signal ? { signal: facts.signal } : {}),
    duration_ms: facts.durationMs,
    ...(facts.file !== undefined ? { file: facts.file } : {}),
    ...(facts.bytes !== undefined ? { bytes: facts.bytes } : {}),
    ...(facts.sha256 !== undefined ? { sha256: facts.sha256 } : {}),
    ...(facts.pruned && facts.pruned.length > 0 ? { pruned: facts.pruned } : {}),
    ...(facts.removed !== undefined ? { removed: facts.removed } : {}),
    ...(facts.kept !== undefined ? { kept: facts.kept } : {}),
    ...(facts.address !== undefined ? { address: facts.address, bytes_in: facts.bytesIn, bytes_out: facts.bytesOut } : {}),
    ...(facts.error ? { error: facts.error } : {}),
  };
}
