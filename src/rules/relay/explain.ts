/** A relay plan as the audit record and `explain` show it. */
import type { RelayPlan } from '../plan.js';

export type RelayPlanFields = { relay: { host: string; port: number; allowed_by: string } };

export function relayPlanFields(plan: RelayPlan): RelayPlanFields {
  return { relay: { host: plan.host, port: plan.port, allowed_by: plan.allowedBy } };
}

export function relayPlanLines(plan: RelayPlan): string[] {
  return [
    `  relay    to ${plan.host} port ${plan.port}${plan.resolve ? ' (the name is resolved once, at connect time)' : ''}, allowed by ${plan.allowedBy}`,
    `  limits   connect within ${plan.connectTimeoutMs / 1000} s; idle ${plan.idleTimeoutMs / 1000} s`,
  ];
}
