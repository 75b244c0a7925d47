/**
 * `check --authorized-keys FILE`: what the policy cannot see but a stolen key would use. The
 * forced command is only half of a key's line: without `restrict` the same key can forward ports
 * and agents, get a pty and have sshd run ~/.ssh/rc first; and sshd starts the command through
 * the account's login shell, which for bash means reading ~/.bashrc before ssh-dispatch runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Policy } from '../policy/schema.js';
import { SAFE_COMMAND_WORD } from '../keyline.js';
import { parseForcedArgs } from '../serve/command-line.js';
import { learnWindowOpen, type LearnRun } from '../serve/learn-window.js';
import { nssAccounts, readAccounts } from '../host/accounts.js';
import type { TextFinding } from './check/finding.js';
import { keyHopFindings, optionValue } from './check/hops.js';

/**
 * What a key line lets a session do besides the forced command, by sshd's reading of its options
 * (auth-options.c, left to right): everything is on, `restrict` turns all of it off, `no-X` turns
 * one off, and `X` turns it back on.
 */
const SESSION_FEATURES = {
  'port-forwarding': 'open tunnels (ssh -L/-R) to any host the server reaches, unaudited',
  'agent-forwarding': 'hand the server its agent, whose keys then act for whoever is root on the server',
  'x11-forwarding': 'forward X11',
  pty: 'get a terminal',
  'user-rc': 'have sshd run ~/.ssh/rc before the command',
} as const;
type SessionFeature = keyof typeof SESSION_FEATURES;

export function enabledFeatures(options: readonly string[]): SessionFeature[] {
  const on = new Set<SessionFeature>(Object.keys(SESSION_FEATURES) as SessionFeature[]);
  for (const option of options.map((o) => o.toLowerCase())) {
    if (option === 'restrict') on.clear();
    else if (option.startsWith('no-') && option.slice(3) in SESSION_FEATURES) on.delete(option.slice(3) as SessionFeature);
    else if (option in SESSION_FEATURES) on.add(option as SessionFeature);
  }
  return [...on];
}

/**
 * The identity a command= line runs ssh-dispatch for, read by the forced mode's own parser
 * (run.ts parseForcedArgs), so that check and a connection agree; or why it would not start.
 * sshd hands the value to the account's login shell, so it must be plain words and nothing else:
 * the program (after at most a runtime such as /usr/bin/node) and its flags. Anything a shell
 * reads as syntax (`||`, `;`, `#`, `$`, quotes) can run more than ssh-dispatch: `shell` says so.
 */
export function forcedIdentity(
  command: string,
  now = new Date(),
): { identity: string; learnRun?: LearnRun } | { error: string; shell?: true } {
  const words = command.trim().split(/[ \t]+/);
  const syntax = words.find((w) => !SAFE_COMMAND_WORD.test(w));
  if (syntax !== undefined) return { error: `${JSON.stringify(syntax)} is shell syntax or not a plain word`, shell: true };
  const at = words.findIndex((w) => /^ssh-dispatch(?:\.c?js)?$/.test(w.split('/').pop() ?? ''));
  if (at < 0) return { error: 'ssh-dispatch is not a word of it' };
  // Only a Node runtime may come first (ssh-dispatch authorized-key writes one where the bundle is not executable).
  if (at > 1 || (at === 1 && !/^\/.*\/node[0-9]*$/.test(words[0]!)))
    return { error: `${JSON.stringify(words.slice(0, at).join(' '))} runs first`, shell: true };
  const args = words.slice(at + 1);
  const parsed = parseForcedArgs(args[0] === 'run' ? args.slice(1) : args, now);
  if (typeof parsed === 'string') return { error: parsed };
  return { identity: parsed.identity, ...(parsed.learnRun ? { learnRun: parsed.learnRun } : {}) };
}

/** The options of an authorized_keys line (before the key type), split on commas outside quotes; null for a line without options. */
export function keyLineOptions(line: string): string[] | null {
  if (/^(ssh-|ecdsa-|sk-)/.test(line)) return null;
  const options: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && quoted && line[i + 1] === '"') {
      current += '\\"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (!quoted && c === ',') {
      options.push(current);
      current = '';
    } else if (!quoted && (c === ' ' || c === '\t')) {
      break;
    } else {
      current += c;
    }
  }
  options.push(current);
  return options;
}

export function authorizedKeysFindings(file: string, policy: Policy, passwdFile?: string, now = new Date()): TextFinding[] {
  let text: string;
  let owner: number;
  try {
    text = readFileSync(file, 'utf8');
    owner = statSync(file).uid;
  } catch (error) {
    return [
      {
        level: 'warning',
        id: 'keys-file-unreadable',
        text: `${file}: could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      },
    ];
  }
  const findings: TextFinding[] = [];
  let dispatchLines = 0;
  const unforced: number[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const options = keyLineOptions(line) ?? [];
    const command = options.find((o) => /^command=/i.test(o));
    if (command === undefined) {
      unforced.push(index + 1);
      return;
    }
    if (!command.includes('ssh-dispatch')) return;
    dispatchLines++;
    findings.push(...dispatchLineFindings(`${file}:${index + 1}`, options, command, policy, now));
  });
  if (dispatchLines === 0)
    return [...findings, { level: 'warning', id: 'keys-file-no-dispatch', text: `${file}: warning: no line runs ssh-dispatch` }];
  for (const line of unforced)
    findings.push(
      warning(
        'key-without-command',
        `${file}:${line}: warning: a key with no command= in the same file: it gets the account's shell, not ssh-dispatch`,
      ),
    );
  const shell = loginShellFinding(file, owner, passwdFile);
  if (shell) findings.push(shell);
  return findings;
}

/** Findings of either level; the text says where, and how bad, itself. */
function warning(id: TextFinding['id'], text: string): TextFinding {
  return { level: 'warning', id, text };
}

function unsafe(id: TextFinding['id'], text: string): TextFinding {
  return { level: 'unsafe', id, text };
}

/** A line whose command= runs ssh-dispatch (at `where`): what else its options allow, and whether its command starts a known identity. */
function dispatchLineFindings(where: string, options: readonly string[], command: string, policy: Policy, now: Date): TextFinding[] {
  const findings: TextFinding[] = [];
  const on = enabledFeatures(options);
  // permitopen="*:*" (or any "*" host) is a tunnel to anywhere, as if there were none.
  const permitopen = options.some((o) => /^permitopen=/i.test(o) && !/^\*:|^\[?\*\]?:/.test(optionValue(o)));
  // A relay key (authorized-key) forwards to its permitopen list only; check/hops.ts holds that list to its relay rules.
  const open = on.filter((f) => !(f === 'port-forwarding' && permitopen));
  if (open.length > 0) {
    findings.push(
      unsafe(
        'key-line-unrestricted',
        `${where}: UNSAFE: besides running ssh-dispatch, the key can ${open.map((f) => SESSION_FEATURES[f]).join('; ')}: start the options with restrict${open.includes('port-forwarding') ? ' (and give forwarding a permitopen= list)' : ''}, as ssh-dispatch authorized-key writes them`,
      ),
    );
  }
  const runs = forcedIdentity(optionValue(command));
  if (on.includes('port-forwarding') && permitopen && 'identity' in runs)
    findings.push(...keyHopFindings(where, options, runs.identity, policy));
  if (options.some((o) => o.toLowerCase().startsWith('environment=')))
    findings.push(
      unsafe(
        'key-line-environment',
        `${where}: UNSAFE: environment= sets variables (NODE_OPTIONS, LD_PRELOAD) before ssh-dispatch runs, which is code execution ahead of every check; remove it`,
      ),
    );
  const forced = forcedCommandFinding(where, command, policy, now);
  if (forced) findings.push(forced);
  const learning = learnRunFinding(where, command, now);
  if (learning) findings.push(learning);
  return findings;
}

/**
 * A --learn-run line: while its window is open the key runs whatever its client sends (in the
 * sandbox, writing its --learn-write paths), which is what a stolen key would want; once it has
 * closed, the line only records, and is left over.
 */
function learnRunFinding(where: string, command: string, now: Date): TextFinding | null {
  const forced = forcedIdentity(optionValue(command), now);
  if (!('identity' in forced) || !forced.learnRun) return null;
  const { until, write } = forced.learnRun;
  if (!learnWindowOpen(forced.learnRun, now))
    return warning(
      'key-learn-run-expired',
      `${where}: warning: the learning window (--learn-run) ended at ${until.toISOString()}: the key records and runs nothing; take --learn-run and its paths off the line, or give it the rules suggest writes`,
    );
  return unsafe(
    'key-learn-run-active',
    `${where}: UNSAFE: --learn-run: until ${until.toISOString()} the key runs whatever its client sends, in the sandbox${write.length > 0 ? `, writing ${write.join(', ')}` : ''}: turn the records into rules (ssh-dispatch suggest) and take --learn-run off the line`,
  );
}

/** Whether the command= value starts ssh-dispatch's forced mode for an identity of the policy, and nothing else. */
function forcedCommandFinding(where: string, command: string, policy: Policy, now: Date): TextFinding | null {
  const forced = forcedIdentity(optionValue(command), now);
  if ('error' in forced && forced.shell)
    return unsafe(
      'key-command-not-plain',
      `${where}: UNSAFE: command= is not only ssh-dispatch and its flags (${forced.error}): sshd runs it through the login shell, so the key can run more than ssh-dispatch; write it as ssh-dispatch authorized-key does`,
    );
  if ('error' in forced)
    return warning(
      'key-command-refused',
      `${where}: warning: command= would not start ssh-dispatch's forced mode (${forced.error}): every request with this key is denied`,
    );
  // A learning key's identity is often not written yet: learnRunFinding says what the line does.
  if (!policy.identities.has(forced.identity) && !forced.learnRun)
    return warning(
      'key-identity-unknown',
      `${where}: warning: --id ${forced.identity} is not an identity of the policy: every request with this key is denied`,
    );
  return null;
}

/** The file owner's login shell: sshd starts the forced command through it, and bash reads ~/.bashrc first. */
function loginShellFinding(file: string, owner: number, passwdFile: string | undefined): TextFinding | null {
  const accounts = passwdFile === undefined ? nssAccounts().accounts : readAccounts(passwdFile);
  const account = accounts.find((a) => a.uid === owner);
  if (account === undefined || basename(account.shell) !== 'bash') return null;
  return warning(
    'login-shell-bash',
    `${file}: warning: ${account.user}'s login shell is ${account.shell}: sshd starts the forced command through it, and bash reads ~/.bashrc first for ssh sessions; give the account /bin/sh`,
  );
}
