/**
 * `ssh-dispatch explain`: the decision a real connection would get, without running anything.
 * It builds a Request from flags and calls the same decide() as the forced-command mode.
 */
import { userInfo } from 'node:os';
import { printable } from '../values/printable.js';
import { decisionFields } from '../audit/record.js';
import type { Decision } from '../decide/decide.js';
import { kindOf } from '../rules/kinds.js';
import { decideOnHost } from '../host/decide-on-host.js';
import { readAccounts } from '../host/accounts.js';
import { describeDenyReason } from '../values/deny-reason.js';
import { parseAddress } from '../values/address.js';
import { loadPolicy } from '../policy/load.js';
import { formatPolicyError } from '../values/policy-error.js';
import { ACCOUNT_NAME, DEFAULT_POLICY_PATH } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { parseFlags, UsageError } from '../args.js';

export const EXPLAIN_HELP = `Usage: ssh-dispatch explain --id ID [--policy PATH] [--from IP] [--key SHA256:...] [--principal P]...
                            [--user ACCOUNT] [--protected-arg ARG]... [--json] [--trace] -- 'COMMAND'

Shows the decision a connection of identity ID would get for COMMAND, without running it.
COMMAND is what the client sends (SSH_ORIGINAL_COMMAND); several words are joined with spaces,
as ssh joins them. An empty COMMAND ('') stands for a session that sent no command.

  --policy PATH   policy file or directory (default ${DEFAULT_POLICY_PATH})
  --from IP       the client address, for identities with a from list
  --key FP        a key fingerprint that authenticated (repeatable), for identities with keys
  --principal P   the connection came with a user certificate naming P (repeatable: one
                  certificate naming each), valid now, for identities with principals
  --user ACCOUNT  the account logged into, for identities with accounts (default: yours)
  --protected-arg ARG
                  for an rsync -s command (BackupPC): an argument the client sends on the
                  connection, in order (repeatable), e.g. --protected-arg . --protected-arg /etc/
  --json          print {"decision","rule","argv","cwd","reason","detail"} as one JSON object
  --trace         also list every rule tried and why it did or did not match

Exit status: 0 allow, 1 deny, 2 usage error or a policy that does not load.`;

export async function runExplain(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      id: { type: 'string' },
      policy: { type: 'string' },
      from: { type: 'string' },
      key: { type: 'string', multiple: true },
      principal: { type: 'string', multiple: true },
      user: { type: 'string' },
      'protected-arg': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    console.log(EXPLAIN_HELP);
    return 0;
  }
  if (!values.id) throw new UsageError('--id ID is required');
  if (positionals.length === 0) throw new UsageError("give the command after --, or '' for a session that sent none");
  if (values.from !== undefined && parseAddress(values.from) === null) throw new UsageError(`--from: not an IP address: ${values.from}`);

  const loaded = await loadPolicy(values.policy ?? DEFAULT_POLICY_PATH);
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${printable(formatPolicyError(error))}\n`);
    process.stderr.write('ssh-dispatch: the policy does not load, so every request would be denied\n');
    return 2;
  }
  if (values.user !== undefined && !ACCOUNT_NAME.test(values.user)) throw new UsageError(`--user: not an account name: ${values.user}`);
  const command = positionals.join(' ');
  const account = userInfo();
  const now = new Date();
  const request: Request = {
    identity: values.id,
    command: command === '' ? null : command,
    client: values.from === undefined ? null : { address: values.from, port: 0 },
    keys: values.key ?? null,
    ...(values.principal
      ? { certificates: [{ keyId: 'explain', serial: '0', principals: values.principal, validAfter: 0, validBefore: null, ca: 'explain' }] }
      : {}),
    user: values.user ?? account.username,
    home: values.user === undefined ? account.homedir : (readAccounts().find((a) => a.user === values.user)?.home ?? '/nonexistent'),
    sshConnection: values.from === undefined ? null : `${values.from} 0 127.0.0.1 22`,
    now,
    // As rsync sends them: its own name first.
    ...(values['protected-arg'] ? { protectedArgs: ['rsync', ...values['protected-arg']] } : {}),
  };
  const decision = decideOnHost(loaded.policy, request);
  process.stdout.write(values.json ? explainJson(decision, values.trace ?? false) : explainText(decision, values.trace ?? false));
  return decision.decision === 'allow' ? 0 : 1;
}

/** The decision as `--json` prints it: decisionRecord's own fields, with the documented keys always present. */
export function explainJson(decision: Decision, withTrace: boolean): string {
  const out: Record<string, unknown> = { rule: null, argv: null, reason: null, detail: null, ...decisionFields(decision) };
  if (withTrace)
    out.trace = decision.trace.map((t) => ({ rule: t.rule, at: `${t.where.file}:${t.where.line}`, matched: t.matched, why: t.why }));
  return `${JSON.stringify(out)}\n`;
}

function explainText(decision: Decision, withTrace: boolean): string {
  const lines: string[] = [];
  if (decision.decision === 'allow') {
    const { rule, plan } = decision;
    lines.push(`allow  by rule "${rule.name}" (${rule.where.file}:${rule.where.line})`);
    if (decision.spelling !== undefined)
      lines.push(`  spelling ${decision.spelling} (read as the plain form; the client's wrapper and program are not run)`);
    lines.push(...kindOf(rule.kind).lines(plan));
  } else {
    lines.push(`deny   ${decision.reason}: ${describeDenyReason(decision.reason)}`);
    lines.push(`  detail   ${decision.detail}`);
    // What a real connection would have and explain has only when told.
    if (decision.reason === 'from-unknown') lines.push('  hint     the identity has a from list: give the client address with --from IP');
    if (decision.reason === 'key-unknown')
      lines.push('  hint     the identity has a keys list: give the key with --key SHA256:... (ssh-keygen -lf KEY.pub)');
    if (decision.reason === 'certificate-missing')
      lines.push('  hint     the identity has a principals list: give a certificate principal with --principal NAME');
    if (decision.reason === 'account-not-allowed')
      lines.push('  hint     the identity has an accounts list: give the account logged into with --user NAME');
  }
  if (withTrace) {
    if (decision.trace.length === 0) lines.push('  trace    no rule was tried');
    for (const t of decision.trace)
      lines.push(`  ${t.matched ? 'match' : 'skip '}    ${t.rule} (${t.where.file}:${t.where.line}): ${t.why}`);
  }
  return lines.map(printable).join('\n') + '\n';
}
