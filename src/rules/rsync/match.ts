/**
 * rsync rules: a parsed `rsync --server ...` checked against one rule, and the argv that runs.
 *
 * The argv is built, not passed through (rrsync's shape): the rule's rsync, --server, --sender
 * if pulling, the client's options as vetted (path values rewritten under root), the options the
 * server imposes, "--" so no operand can be read as an option, ".", the confined operands.
 * rsync runs in root, so operands stay relative: --relative pulls keep the names they expect.
 */
import type { RsyncRule } from './rule.js';
import type { Request } from '../../request/request.js';
import { minimalChildEnv, type RsyncPlan } from '../plan.js';
import { ROOT_CAPS } from '../sandbox.js';
import { confineOperand, joinUnder, resolveParts, type Confined } from './confine.js';
import { refuse, rootView, type Refused, type RootView } from './root-view.js';
import { parseServerArgs, type ServerOption } from './server-args.js';
import { imposedOptions, vetOptions } from './vet-options.js';
import type { RsyncFeatures } from './features.js';

export type RsyncOutcome = { ok: true; plan: RsyncPlan } | Refused;

/**
 * Whether rsync runs with --relative: -R in a bundle or --relative, undone by a later
 * --no-relative, and implied by --files-from (rsync's own default when neither is given).
 */
export function usesRelativePaths(options: readonly ServerOption[]): boolean {
  let relative: boolean | null = null;
  for (const option of options) {
    if ((option.name === '-' && option.value!.includes('R')) || option.name === 'relative') relative = true;
    else if (option.name === 'no-relative') relative = false;
  }
  return relative ?? options.some((option) => option.name === 'files-from');
}

/** Where rsync's receiver logs what it changed: the supervising dispatcher's FIFO (act/fifo.ts). */
export const RSYNC_REPORT_FILE = '/proc/self/fd/3';

/**
 * The session's token, itemized change, file length, name (rsync escapes unprintable bytes in
 * names as \\#ooo). rsync also logs every message the client sends it (MSG_INFO), with the same
 * prefix: the token, which the client never learns, tells rsync's own report lines from those
 * (found in review: a client's messages forged names and a terabyte in writes).
 */
export function rsyncReportFormat(token: string): string {
  return `${token} %i %l %n`;
}

/** The report FIFO's name in root (act/fifo.ts): protected from a push's --delete by a filter rule. */
export function reportFifoName(token: string): string {
  return `.ssh-dispatch-report-${token}`;
}

/**
 * What a pull reads, as absolute paths, for the secrets the sandbox withholds from it
 * (act/sandbox.ts withheldFrom): each operand, a wildcard one up to its first wildcard; a pull
 * that follows symlinks (-L, -k, --copy-unsafe-links) may read anything under root.
 */
function pullReads(operands: readonly Confined[], wildcards: boolean, options: readonly ServerOption[], root: string): string[] {
  if (options.some((option) => option.gates.includes('follow-links'))) return [root];
  return operands.flatMap((operand) => (operand.ok ? operand.checks : [])).map((path) => (wildcards ? literalPrefix(path) : path));
}

/** The path up to its first part with a wildcard character in it. */
function literalPrefix(path: string): string {
  const parts = path.split('/');
  const first = parts.findIndex((part) => /[*?[]/.test(part));
  return first === -1 ? path : parts.slice(0, first).join('/') || '/';
}

export function matchRsync(
  rule: RsyncRule,
  words: readonly string[],
  globs: ReadonlyMap<number, string>,
  request: Request,
  features: RsyncFeatures,
): RsyncOutcome {
  const parsed = parseServerArgs(words);
  if (!parsed.ok) {
    // Not rsync at all: simply not this rule's business.
    return parsed.reason === 'rsync-not-server' && parsed.detail === 'not an rsync command'
      ? { ok: false, reason: null, why: 'not an rsync command' }
      : refuse(parsed.reason, parsed.detail);
  }
  const { sender, options, operands } = parsed.args;
  if (sender && rule.access === 'write') return refuse('rsync-direction-refused', 'a pull (--sender) from a write-only rule');
  if (!sender && rule.access === 'read') return refuse('rsync-direction-refused', 'a push to a read-only rule');

  // Unquoted wildcards: a remote shell would have expanded them in a pull's source paths, and
  // rsync clients send them so (`host:'logs/*.gz'`). Anywhere else they are refused.
  const firstOperand = words.length - operands.length;
  for (const index of globs.keys()) {
    if (index < firstOperand) return refuse('tokenize-glob', `a wildcard in an option: ${words[index]}`);
    if (!sender) return refuse('tokenize-glob', `a wildcard in a push destination: ${words[index]}`);
  }
  if (sender ? operands.length === 0 : operands.length !== 1) {
    return refuse(
      'rsync-bad-syntax',
      sender
        ? 'a pull names no path'
        : `a push names ${operands.length} destinations, not 1 (a client with --old-args sends "dst 5/" unescaped)`,
    );
  }
  const view = rootView(rule);
  const confined = confineOperands(rule, view, operands, sender && usesRelativePaths(options));
  if (!confined.ok) return confined;
  const snapshot = snapshotOf(rule, sender, confined.paths, operands);
  if (typeof snapshot !== 'string' && snapshot !== null) return snapshot;
  const vetted = vetOptions(rule, view, { sender, options, operands, snapshot, features });
  if (!vetted.ok) return vetted;
  // A pull wildcard is expanded relative to root: an absolute one under absolute-paths or paths:
  // loses root first (found in review: /R/sub/* was expanded under R/R/sub/).
  if (confined.keepAsSent && globs.size > 0)
    return refuse(
      'tokenize-glob',
      'a wildcard in a --relative pull whose names are kept as sent (paths: under a root other than /): name the paths',
    );
  return { ok: true, plan: rsyncPlan(rule, request, { view, sender, options, globs, firstOperand, features, snapshot, confined, vetted }) };
}

/**
 * The client's operands confined to root (and paths:), as rsync will get them, and what must
 * still resolve inside root on disk. `relativePull`: a --relative pull, which names what the
 * client receives by the path it sent.
 */
function confineOperands(
  rule: RsyncRule,
  view: RootView,
  operands: readonly string[],
  relativePull: boolean,
): { ok: true; paths: Confined[]; argv: string[]; checks: string[]; keepAsSent: boolean } | Refused {
  for (const operand of operands) {
    if (view.outsideRoot(operand)) return refuse('rsync-path-outside-rule', `${JSON.stringify(operand)} is not under root ${rule.root}`);
  }
  const paths: Confined[] = operands.map((operand) => confineOperand(view.underRoot(operand), rule.root));
  for (const confined of paths) if (!confined.ok) return refuse('rsync-path-escapes-root', confined.why);
  for (const confined of paths) {
    const stray = confined.ok ? confined.checks.find((path) => !view.inPaths(path)) : undefined;
    if (stray !== undefined) return refuse('rsync-path-outside-rule', `${stray} is not in the rule's paths (${view.within.join(', ')})`);
  }
  // From a root other than /, an absolute path is kept as sent (rsnapshot rejects names that lost their prefix).
  const keepAsSent = rule.paths !== null && relativePull && rule.root !== '/';
  const argv = paths.map((c, i) =>
    keepAsSent && operands[i]!.startsWith('/') ? operands[i]! : (c as Extract<Confined, { ok: true }>).path,
  );
  return { ok: true, paths, argv, checks: paths.flatMap((c) => (c.ok ? c.checks : [])), keepAsSent };
}

/**
 * snapshot: the one directory this push may create, directly under root, never a dot name (a
 * failed push is moved aside under one, act/snapshot.ts); null when the rule or the direction
 * makes no snapshot.
 */
function snapshotOf(rule: RsyncRule, sender: boolean, confined: readonly Confined[], operands: readonly string[]): string | null | Refused {
  if (!rule.snapshot || sender) return null;
  const parts = resolveParts([], (confined[0] as Extract<Confined, { ok: true }>).path);
  if (parts === null || parts.length !== 1 || parts[0]!.startsWith('.')) {
    return refuse(
      'rsync-snapshot-refused',
      `${JSON.stringify(operands[0])}: under snapshot: true a push names one new directory directly under root, such as 2026-12-06/`,
    );
  }
  return parts[0]!;
}

interface Matched {
  view: RootView;
  sender: boolean;
  options: readonly ServerOption[];
  globs: ReadonlyMap<number, string>;
  firstOperand: number;
  features: RsyncFeatures;
  snapshot: string | null;
  confined: { paths: Confined[]; argv: string[]; checks: string[] };
  vetted: { argv: string[]; checks: string[]; clientMaxDelete: number | null };
}

/** The plan of an rsync request the rule allows: the argv built (rrsync's shape), and what the act/ modules check and watch. */
function rsyncPlan(rule: RsyncRule, request: Request, m: Matched): RsyncPlan {
  const { view, sender, options, globs, snapshot, confined } = m;
  // What rsync itself changed, as its receiver logs it (one line per name), on the pipe the
  // dispatcher reads (act/rsync-report.ts): the end record's writes. Off the data path.
  const report = !sender && rule.supervise;
  const token = request.session ?? 'explain';
  const imposed = imposedOptions(rule, { sender, features: m.features, snapshot, clientMaxDelete: m.vetted.clientMaxDelete });
  // The FIFO lies in root while rsync runs: a --delete into root must neither remove it nor count
  // it against --max-delete (found in review). The server's own filter rules come before the client's.
  if (report)
    imposed.push(
      `--log-file=${RSYNC_REPORT_FILE}`,
      `--log-file-format=${rsyncReportFormat(token)}`,
      `--filter=P /${reportFifoName(token)}`,
    );
  const argv = [rule.program, '--server', ...(sender ? ['--sender'] : []), ...m.vetted.argv, ...imposed, '--', '.', ...confined.argv];
  const operandsAt = argv.length - confined.argv.length;
  const wildcards = [...globs.entries()].map(([index, pattern]) => ({
    argvIndex: operandsAt + (index - m.firstOperand),
    pattern: view.underRoot(pattern).replace(/^\/+/, ''),
  }));
  const checks = [...confined.checks, ...m.vetted.checks];
  return {
    kind: 'exec',
    program: rule.program,
    argv,
    env: minimalChildEnv({ user: request.user, home: request.home, sshConnection: request.sshConnection, ruleEnv: {} }),
    cwd: rule.root,
    umask: null,
    timeoutMs: null,
    supervise: rule.supervise,
    ...(options.some((o) => o.name === 'dry-run' || (o.name === '-' && o.value!.includes('n'))) ? { dryRun: true } : {}),
    confine: {
      root: rule.root,
      within: [...view.within],
      paths: [...new Set(checks)],
      wildcards,
      pull: sender ? { relative: usesRelativePaths(options), operandsAt } : null,
    },
    minFree: !sender && rule.minFreeBytes > 0 ? { path: rule.root, bytes: rule.minFreeBytes } : null,
    ...(report ? { report: { dest: confined.argv[0]!, dir: view.within[0]!, token } } : {}),
    ...(snapshot !== null ? { snapshot: joinUnder(rule.root, [snapshot]) } : {}),
    ...(!sender && snapshot === null
      ? {
          history: {
            dest: (confined.paths[0] as Extract<Confined, { ok: true }>).checks[0]!,
            guard: rule.overwrite ? ('shared-inodes' as const) : ('directories' as const),
          },
        }
      : {}),
    // A pull sees root (or its paths) read-only, whatever the rule's access: it only reads.
    sandbox: rule.sandbox
      ? sender
        ? {
            read: [...view.within],
            write: [],
            rootCaps: [...ROOT_CAPS.read],
            secrets: rule.secrets ?? 'withhold',
            reads: pullReads(confined.paths, globs.size > 0, options, rule.root),
          }
        : { read: [], write: [...view.within], rootCaps: [...ROOT_CAPS.store, ...(rule.devices ? ROOT_CAPS.devices : [])] }
      : null,
  };
}
