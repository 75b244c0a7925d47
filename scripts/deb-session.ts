/**
 * scripts/deb-check.sh's connection test, run as root after the package is installed:
 *
 *   node scripts/run-ts.mjs scripts/deb-session.ts ID ALLOWED EXPECTED_OUTPUT DENIED
 *
 * A throwaway sshd on 127.0.0.1 (src/lab/throwaway-sshd.ts: temp keys and config, never /etc/ssh
 * or ~/.ssh, stopped by its pid) with one key whose line is what an admin writes for the package:
 * command="/usr/bin/ssh-dispatch --id ID". ALLOWED must print EXPECTED_OUTPUT and exit 0; DENIED
 * must be refused (exit 126, "refused by the server's policy"). Exit 0 when both hold, 1 otherwise, saying why.
 */
import { ThrowawaySshd } from '../src/lab/throwaway-sshd.js';

const [id, allowed, expected, denied] = process.argv.slice(2);
if (!id || !allowed || expected === undefined || !denied) {
  process.stderr.write('usage: deb-session.ts ID ALLOWED EXPECTED_OUTPUT DENIED\n');
  throw new Error('missing arguments');
}

const sshd = await ThrowawaySshd.start({ user: 'root' });
let failures = 0;
try {
  const key = await sshd.newClientKey('deb-check');
  sshd.authorize([`restrict,command="/usr/bin/ssh-dispatch --id ${id}" ${key.publicKey}`]);

  const ok = await sshd.ssh(key, allowed);
  const out = ok.stdout.toString('utf8');
  if (ok.code === 0 && out === expected) process.stdout.write(`allowed: ${JSON.stringify(allowed)} exit 0, printed ${JSON.stringify(out)}\n`);
  else {
    failures++;
    process.stderr.write(`allowed ${JSON.stringify(allowed)}: exit ${ok.code}, printed ${JSON.stringify(out)}, stderr ${JSON.stringify(ok.stderr)}\n`);
  }

  const no = await sshd.ssh(key, denied);
  if (no.code === 126 && no.stderr.includes("refused by the server's policy") && no.stdout.length === 0)
    process.stdout.write(`denied: ${JSON.stringify(denied)} exit 126, ${JSON.stringify(no.stderr.trim())}\n`);
  else {
    failures++;
    process.stderr.write(`denied ${JSON.stringify(denied)}: exit ${no.code}, stdout ${JSON.stringify(no.stdout.toString())}, stderr ${JSON.stringify(no.stderr)}\n`);
  }
} finally {
  await sshd.stop();
}
// exitCode, not exit(): scripts/run-ts.mjs removes its bundle of this file once it returns.
process.exitCode = failures === 0 ? 0 : 1;
