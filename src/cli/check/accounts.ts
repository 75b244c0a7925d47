/**
 * What an account whose keys run ssh-dispatch needs: to read every policy file, and to append to
 * its own audit log. Tried as that account, in a child process with its uid and gid: whatever
 * the modes, owners, ACLs or mount options say, this is what the kernel answers.
 */
import type { Policy } from '../../policy/schema.js';
import { kindOf } from '../../rules/kinds.js';
import { nssAccounts } from '../../host/accounts.js';
import { accountLogFile } from '../../audit/sink.js';
import { slotDirectory } from '../../host/limits.js';
import { childProcess } from '../../lazy-builtins.js';
import { runningUid } from '../../trust.js';
import type { TextFinding } from './finding.js';

/** The probe, run as the account: each problem as [what, text], what being policy, log, ca or limits. */
const PROBE = `const fs = require('fs'); const out = [];
const install = (e) => e.code === 'ENOENT' ? ': install.sh --account ' + process.argv[3] + ' creates it' : '';
for (const f of JSON.parse(process.argv[1])) { try { fs.closeSync(fs.openSync(f, 'r')); } catch (e) { out.push(['policy', f + ': cannot be read (' + e.code + ')']); } }
try { fs.closeSync(fs.openSync(process.argv[2], fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW)); } catch (e) { out.push(['log', process.argv[2] + ': cannot be appended to (' + e.code + install(e) + ')']); }
if (process.argv[4]) { try { fs.closeSync(fs.openSync(process.argv[4], 'r')); } catch (e) { out.push(['ca', process.argv[4] + ': cannot be read (' + e.code + ')']); } }
if (process.argv[5]) { try { fs.accessSync(process.argv[5], fs.constants.W_OK | fs.constants.X_OK); } catch (e) { out.push(['limits', process.argv[5] + ': cannot be written (' + e.code + install(e) + ')']); } }
process.stdout.write(JSON.stringify(out));`;

type Problem = ['policy' | 'log' | 'ca' | 'limits', string];

function problemFinding([what, problem]: Problem, label: string): TextFinding {
  if (what === 'ca')
    return {
      level: 'warning',
      id: 'account-ca-unreadable',
      text: `${label}: warning: audit.syslog.tls.ca ${problem}: the records of this account's sessions will not reach the collector (the audit file still gets them)`,
    };
  if (what === 'limits')
    return {
      level: 'error',
      id: 'account-sessions-unwritable',
      text: `${label}: error: ${problem}: the sessions of identities with max-sessions, and of rsync rules with single-run, cannot be counted, so their requests would be denied (limits-unusable)`,
    };
  return {
    level: 'error',
    id: what === 'policy' ? 'account-policy-unreadable' : 'account-log-unwritable',
    text: `${label}: error: ${problem}: every request of this account's keys would be denied`,
  };
}

export function accountFindings(user: string, policy: Policy, label = `--as ${user}`): TextFinding[] {
  const account = nssAccounts().accounts.find((a) => a.user === user);
  if (!account) return [{ level: 'error', id: 'account-unknown', text: `${label}: no such account` }];
  const log = accountLogFile(policy.audit.file, account.uid, user);
  const ca = policy.audit.syslog?.tls?.ca ?? '';
  // max-sessions and single-run count sessions in the account's own directory (host/limits.ts).
  const limited = [...policy.identities.values()].some(
    (identity) => identity.maxSessions || identity.rules.some((rule) => kindOf(rule.kind).runsAlone(rule) !== null),
  );
  const slots = limited ? slotDirectory(policy.audit.file, account.uid, user) : '';
  const result = childProcess().spawnSync(process.execPath, ['-e', PROBE, JSON.stringify(policy.files), log, user, ca, slots], {
    uid: account.uid,
    gid: account.gid,
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: '/usr/bin:/bin' },
  });
  if (result.error)
    return [
      {
        level: 'error',
        id: 'account-probe-failed',
        text: `${label}: could not run as the account (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}; run check as root)`,
      },
    ];
  let problems: Problem[];
  try {
    problems = JSON.parse(result.stdout) as Problem[];
  } catch {
    return [
      { level: 'error', id: 'account-probe-failed', text: `${label}: the probe failed (${(result.stderr ?? '').trim().split('\n')[0]})` },
    ];
  }
  return problems.map((problem) => problemFinding(problem, label));
}

/**
 * The accounts the policy's identities log into (`accounts:`), other than root and those named
 * with --as, tried as --as tries them, when run as root: a policy 0640 to the commands' group
 * serves the keys and then denies every session of an account outside that group (found in
 * review). An account this host does not have is skipped: one policy serves a fleet.
 */
export function listedAccountFindings(policy: Policy, named: readonly string[]): TextFinding[] {
  if (runningUid() !== 0) return [];
  const known = new Set(nssAccounts().accounts.map((a) => a.user));
  const listed = new Set([...policy.identities.values()].flatMap((identity) => identity.accounts ?? []));
  return [...listed]
    .filter((user) => user !== 'root' && !named.includes(user) && known.has(user))
    .flatMap((user) => accountFindings(user, policy, `account ${user} (in accounts:)`));
}
