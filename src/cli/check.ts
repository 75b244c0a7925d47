/** `ssh-dispatch check`: loads the policy exactly as a connection would, and reports. */
import { printable } from '../audit/escape.js';
import { loadPolicy } from '../policy/load.js';
import { formatPolicyError } from '../policy/errors.js';
import { DEFAULT_POLICY_PATH } from '../policy/schema.js';
import { parseFlags } from './args.js';

export const CHECK_HELP = `Usage: ssh-dispatch check [--policy PATH]

Loads the policy (a file, or every *.yaml / *.yml file of a directory) with the same strict
checks a connection applies, and prints each error as FILE:LINE: KEY: what was expected.
A policy that does not load denies every request. A policy that loads is also compiled into
.ssh-dispatch-cache/ beside it (where this user may write), which connections read instead of
parsing the YAML.

Exit status: 0 the policy loads, 1 it does not.`;

export async function runCheck(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  const loaded = await loadPolicy(values.policy ?? DEFAULT_POLICY_PATH, { writeCache: true });
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stdout.write(`${printable(formatPolicyError(error))}\n`);
    process.stdout.write(`${loaded.errors.length} error(s): every request would be denied\n`);
    return 1;
  }
  const { policy } = loaded;
  const rules = [...policy.identities.values()].reduce((n, identity) => n + identity.rules.length, 0);
  process.stdout.write(`ok: ${policy.identities.size} identities, ${rules} rules in ${policy.files.length} file(s); audit log ${policy.audit.file}\n`);
  if (loaded.cache === 'not written') process.stdout.write('note: the compiled cache could not be written beside the policy; connections will parse the YAML each time\n');
  return 0;
}
