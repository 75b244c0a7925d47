import { formatPolicyError, parsePolicyText } from '../src/policy/parse.js';
import { DEFAULT_AUDIT_FILE, type Policy } from '../src/policy/schema.js';
import type { Request } from '../src/request/request.js';
import type { Decision } from '../src/decide/decide.js';
import type { ExecPlan } from '../src/rules/plan.js';

/** A Policy from YAML text, as if loaded from one file; throws with the errors when it does not parse. */
export function policyFrom(yaml: string, file = 'test.yaml'): Policy {
  const parsed = parsePolicyText(file, yaml);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.line}: ${e.key}: ${e.message}`).join('\n'));
  return {
    files: [file],
    audit: parsed.fragment.audit?.settings ?? { file: DEFAULT_AUDIT_FILE, syslog: null },
    identities: new Map(parsed.fragment.identities.map((identity) => [identity.name, identity])),
  };
}

export function requestFor(identity: string, command: string | null, overrides: Partial<Request> = {}): Request {
  return {
    identity,
    command,
    client: { address: '192.0.2.10', port: 51234 },
    keys: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'],
    user: 'backup',
    home: '/home/backup',
    sshConnection: '192.0.2.10 51234 192.0.2.1 22',
    now: new Date(2026, 10, 23, 7, 16, 53),
    ...overrides,
  };
}

/** The exec plan of an allowed decision; throws for anything else. */
export function execPlan(decision: Decision): ExecPlan {
  if (decision.decision !== 'allow' || decision.plan.kind !== 'exec') throw new Error(`not an exec allow: ${JSON.stringify(decision)}`);
  return decision.plan;
}

/** A policy's errors as check prints them ("p.yaml:5: key: message"); none when it parses. */
export function policyErrors(yaml: string, file = 'p.yaml'): string[] {
  const parsed = parsePolicyText(file, yaml);
  return parsed.ok ? [] : parsed.errors.map(formatPolicyError);
}
