/** `ssh-dispatch history`: the applied versions, newest first, and what is served (cli/apply.ts makes them). */
import { parseFlags } from '../args.js';
import { readVersion, servedRecord, versionNumbers } from '../policy/applied/versions.js';
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_POLICY_PATH } from '../policy/schema.js';
import { printable } from '../values/printable.js';
import { runningUid } from '../trust.js';
import { appliedStatus } from './applied-status.js';
import { HISTORY_HELP } from './apply-help.js';

export async function runHistory(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(HISTORY_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string') {
    process.stderr.write(`ssh-dispatch: ${printable(`${policyPath}: ${state}`)}\n`);
    return 1;
  }
  const served = state.served?.version ?? null;
  for (const number of versionNumbers(state.place).reverse()) {
    const meta = readVersion(state.place, number, runningUid());
    if (meta === null) {
      // A line either way: one left out of --json would read as a version that never was.
      console.log(
        values.json
          ? JSON.stringify({ version: number, unreadable: true, served: number === served })
          : `${number}  unreadable or not trusted`,
      );
      continue;
    }
    if (values.json) {
      console.log(JSON.stringify({ ...meta, served: number === served }));
      continue;
    }
    const what = meta.action === 'rollback' ? `rollback to ${meta.restores}` : meta.action;
    const mark = number === served ? '  (served)' : '';
    console.log(
      printable(`${number}  ${meta.time.slice(0, 19).replace('T', ' ')}  ${meta.who}  ${what}  ${meta.digest.slice(0, 19)}${mark}`),
    );
    if (meta.message !== null) console.log(printable(`    "${meta.message}"`));
    for (const line of meta.diff) console.log(printable(`    ${line}`));
  }
  if (!values.json) {
    const loaded = await loadPolicy(policyPath);
    console.log(appliedStatus(policyPath, loaded.ok ? (loaded.files ?? null) : null));
  }
  return 0;
}
