/**
 * `apply`, `rollback` and `reapply`: the only ways to change what keys serve (issue 27: one
 * typo or chmod slip in a policy file used to deny every key on the host). Each compiles the files it would serve, refuses on errors and UNSAFE
 * findings (printing them, changing nothing), and records what it served as a version
 * (policy/applied/).
 */
import { userInfo } from 'node:os';
import { parseFlags, UsageError } from '../args.js';
import type { AppliedPlace } from '../policy/applied/place.js';
import { policyDiff } from '../policy/applied/diff.js';
import { compileVersion, policyDigest, recordVersion } from '../policy/applied/store.js';
import { readVersion, servedRecord, type VersionMeta } from '../policy/applied/versions.js';
import { loadPolicy, loadVersion } from '../policy/load.js';
import { DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';
import { formatPolicyError, type PolicyError } from '../values/policy-error.js';
import { printable } from '../values/printable.js';
import { runningUid } from '../trust.js';
import { accessChange, servedBy } from './applied-status.js';
import { policyFindings } from './check.js';
import { findingLine } from './check/finding.js';
import { APPLY_HELP, REAPPLY_HELP, ROLLBACK_HELP } from './apply-help.js';

const out = (line: string): void => void process.stdout.write(`${printable(line)}\n`);

/** Who ran it: the account, and the one sudo names (who the admin was, when root is everyone). */
function who(): string {
  const name = (() => {
    try {
      return userInfo().username;
    } catch {
      return `uid ${runningUid()}`;
    }
  })();
  const sudo = process.env.SUDO_USER;
  return sudo && sudo !== name ? `${name} (sudo by ${sudo})` : name;
}

function printErrors(errors: readonly PolicyError[]): void {
  for (const error of errors) out(formatPolicyError(error));
}

/** The gate every served version passes: no error and no UNSAFE finding of the policy itself. Prints them; whether it passed. */
function passesGate(policy: Policy, policyPath: string): boolean {
  const findings = policyFindings(policy, policyPath);
  // findingLine escapes what the policy wrote already.
  for (const finding of findings) process.stdout.write(`${findingLine(finding)}\n`);
  return !findings.some((finding) => finding.level !== 'warning');
}

/**
 * What changed from the served version. One this build does not load (an upgrade not followed by
 * reapply) is not "nothing applied": the diff is said not to be known, never "first version".
 */
async function diffFromServed(place: AppliedPlace, served: VersionMeta | null, after: Policy): Promise<string[]> {
  if (served === null) return policyDiff(null, after);
  const loaded = await loadVersion(place, served);
  return loaded.ok
    ? policyDiff(loaded.policy, after)
    : [`what changed from version ${served.version} is not known: this build does not load it`];
}

function printServed(meta: VersionMeta, verb: string): void {
  out(`${verb}: ${servedBy(meta)} is served from now on`);
  for (const line of meta.diff) out(`  ${line}`);
  if (meta.diff.length === 0) out('  nothing served changes (the files differ only in comments, order or layout)');
}

const POLICY_FLAGS = { policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const MESSAGE_FLAG = { message: { type: 'string', short: 'm' } } as const;

export async function runApply(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...POLICY_FLAGS, ...MESSAGE_FLAG });
  if (values.help) {
    console.log(APPLY_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string') return refuse([{ file: policyPath, line: 0, key: '', message: state }], null);
  const loaded = await loadPolicy(policyPath);
  if (!loaded.ok) return refuse(loaded.errors, state.served);
  const files = loaded.files!;
  if (!passesGate(loaded.policy, policyPath)) return refused(state.served);
  if (
    state.served !== null &&
    policyDigest(files.sources).digest === state.served.digest &&
    accessChange(state.served, files.access) === null
  ) {
    const failure = compileVersion(state.place, state.served, loaded.policy);
    if (failure !== null) return fail(`cannot compile version ${state.served.version}: ${failure}`);
    out(`apply: these files are ${servedBy(state.served)}, already served; nothing changed`);
    return 0;
  }
  const diff = await diffFromServed(state.place, state.served, loaded.policy);
  const record = recordVersion(state.place, files.sources, loaded.policy, {
    time: new Date().toISOString(),
    who: who(),
    action: 'apply',
    restores: null,
    diff: [...diff, ...accessDiff(state.served, files.access)],
    message: values.message ?? null,
    access: files.access,
  });
  if (typeof record === 'string') return fail(record);
  printServed(record, 'apply');
  return 0;
}

/** A chmod or chgrp of the policy files changes who may read what is served (an account's keys, the commands' account). */
function accessDiff(served: VersionMeta | null, access: VersionMeta['access']): string[] {
  const change = served === null ? null : accessChange(served, access);
  return change === null ? [] : [`who may read it changed: ${change}`];
}

function refuse(errors: readonly PolicyError[], served: VersionMeta | null): number {
  printErrors(errors);
  return refused(served);
}

function refused(served: VersionMeta | null): number {
  out(`refused: nothing changed; ${served === null ? 'nothing is served yet' : `${servedBy(served)} is still served`}`);
  return 1;
}

function fail(why: string): number {
  process.stderr.write(`ssh-dispatch: ${printable(why)}\n`);
  return 1;
}

/** The version a rollback returns to by default: the one served before the current one's files were first applied. */
function rollbackTarget(place: AppliedPlace, served: VersionMeta, to: string | undefined): VersionMeta | string {
  const wanted = to === undefined ? (served.restores ?? served.version) - 1 : Number(to);
  if (to !== undefined && !/^[1-9][0-9]*$/.test(to))
    throw new UsageError(`--to ${to}: expected a version number (ssh-dispatch history lists them)`);
  if (wanted < 1)
    return served.restores === null
      ? `version ${served.version} is the first: there is nothing to roll back to`
      : `version ${served.version} serves version ${served.restores}'s files, the first: there is nothing to roll back to`;
  return readVersion(place, wanted, runningUid()) ?? `version ${wanted} is unreadable or not trusted`;
}

export async function runRollback(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...POLICY_FLAGS, ...MESSAGE_FLAG, to: { type: 'string' } });
  if (values.help) {
    console.log(ROLLBACK_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string') return fail(state);
  if (state.served === null) return fail('nothing was ever applied: there is nothing to roll back');
  const target = rollbackTarget(state.place, state.served, values.to);
  if (typeof target === 'string') return fail(target);
  const compiled = await loadVersion(state.place, target);
  if (!compiled.ok) return refuse(compiled.errors, state.served);
  if (!passesGate(compiled.policy, policyPath)) return refused(state.served);
  const record = recordVersion(state.place, compiled.sources, compiled.policy, {
    time: new Date().toISOString(),
    who: who(),
    action: 'rollback',
    restores: target.restores ?? target.version,
    // Published as the target's files were: a chmod since then is undone too, and said so.
    diff: [...(await diffFromServed(state.place, state.served, compiled.policy)), ...accessDiff(state.served, target.access)],
    message: values.message ?? null,
    access: target.access,
  });
  if (typeof record === 'string') return fail(record);
  printServed(record, `rollback to version ${target.version}`);
  return 0;
}

/**
 * After an upgrade: the served version compiled again and passed through the gate by this build,
 * so that connections read it compiled; exit 1 when this build refuses it (install.sh and the
 * package then fail loudly, and the version stays as it was). --adopt: with nothing applied,
 * the files as they are become version 1 (an upgrade from a build that served the files directly).
 */
export async function runReapply(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...POLICY_FLAGS, adopt: { type: 'boolean' } });
  if (values.help) {
    console.log(REAPPLY_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const state = servedRecord(policyPath, runningUid());
  if (typeof state === 'string' && state.endsWith('ENOENT')) {
    out(`reapply: no policy at ${policyPath}: nothing to re-validate`);
    return 0;
  }
  if (typeof state === 'string') return fail(state);
  if (state.served === null) {
    if (values.adopt) return adopt(policyPath, state.place);
    out(`reapply: nothing is applied at ${policyPath}: keys refuse every request until "ssh-dispatch apply"`);
    return 0;
  }
  const compiled = await loadVersion(state.place, state.served);
  if (!compiled.ok) return refuse(compiled.errors, state.served);
  if (!passesGate(compiled.policy, policyPath)) {
    out(`refused: this build refuses ${servedBy(state.served)}; fix the policy, then "ssh-dispatch apply"`);
    return 1;
  }
  const failure = compileVersion(state.place, state.served, compiled.policy);
  if (failure !== null) return fail(`cannot compile version ${state.served.version}: ${failure}`);
  out(`reapply: ${servedBy(state.served)} passes with this build and is served compiled by it`);
  return 0;
}

async function adopt(policyPath: string, place: AppliedPlace): Promise<number> {
  const loaded = await loadPolicy(policyPath);
  if (!loaded.ok) return refuse(loaded.errors, null);
  if (!passesGate(loaded.policy, policyPath)) return refused(null);
  const record = recordVersion(place, loaded.files!.sources, loaded.policy, {
    time: new Date().toISOString(),
    who: who(),
    action: 'adopt',
    restores: null,
    diff: policyDiff(null, loaded.policy),
    message: 'adopted at upgrade: the files served before keys served only applied versions',
    access: loaded.files!.access,
  });
  if (typeof record === 'string') return fail(record);
  printServed(record, 'reapply --adopt');
  return 0;
}
