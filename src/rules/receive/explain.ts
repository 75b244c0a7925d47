/** A receive plan as the audit record and `explain` show it. */
import type { ReceivePlan } from '../plan.js';

export function receivePlanFields(plan: ReceivePlan): Record<string, unknown> {
  return { receive: { dir: plan.dir, name: plan.name } };
}

export function receivePlanLines(plan: ReceivePlan): string[] {
  return [
    `  receive  into ${plan.dir}/ as ${plan.name} (a -N suffix if that name is taken), mode ${plan.mode.toString(8).padStart(4, '0')}`,
    `  limits   ${plan.maxBytes} bytes at most; ${plan.minFreeBytes} bytes left free; idle ${plan.idleTimeoutMs / 1000} s${plan.keep ? `; keeps the newest ${plan.keep}` : ''}`,
  ];
}
