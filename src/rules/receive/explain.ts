/** A receive plan as the audit record and `explain` show it. */
import type { ReceivePlan } from '../plan.js';
import { formatDuration } from './retention.js';

export type ReceivePlanFields = { receive: { dir: string; name: string } };

export function receivePlanFields(plan: ReceivePlan): ReceivePlanFields {
  return { receive: { dir: plan.dir, name: plan.name } };
}

export function receivePlanLines(plan: ReceivePlan): string[] {
  const { windowMs, maxUploads } = plan.retention;
  const keeps =
    plan.keep === null
      ? ''
      : `; keeps the newest ${plan.keep}${windowMs > 0 ? ` and all younger than ${formatDuration(windowMs)}` : ' (no window: any young upload may go)'}`;
  return [
    `  receive  into ${plan.dir}/ as ${plan.name} (${plan.chosen ? 'refused if that name is taken' : 'a -N suffix if that name is taken'}), mode ${plan.mode.toString(8).padStart(4, '0')}`,
    `  limits   ${plan.maxBytes} bytes at most; ${plan.minFreeBytes} bytes left free; idle ${plan.idleTimeoutMs / 1000} s${keeps}${maxUploads === null ? '' : `; at most ${maxUploads} uploads within ${formatDuration(windowMs)}, more are refused`}`,
  ];
}
