/**
 * Per-identity limits, taken as a session starts (docs/policy.md, "Limits"): `max-sessions` on an
 * identity, `single-run` on an rsync rule (rrsync's lock), and an identity's own `min-free` floor.
 *
 * Counting running sessions needs state that survives a killed dispatcher without holding a slot
 * forever, and Node has no flock. A slot is a symlink `KEY.N` (N below the limit) in a directory
 * of the account's own beside its audit log, whose target is the holder's pid and the start time
 * of that process (/proc/PID/stat): symlink(2) makes it whole in one step and fails when the name
 * is taken, and readlink(2) reads it without following anything (two system calls where a private
 * file written and then linked into place takes six; measured 115 against 151 µs). A slot whose
 * process is gone, or whose pid now belongs to a later process, is free again. execve keeps the
 * pid, so an rsync that replaced its dispatcher still holds the slot while it runs. The directory
 * is the account's (mode 0700): another account cannot fill it, and no rule's root may lie over
 * it (a rule that writes the log directory is what `check` calls unsafe already).
 */
import { lstatSync, mkdirSync, readlinkSync, renameSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Identity, Policy, Rule } from '../policy/schema.js';
import { deny, type Decision } from '../decide/decision.js';
import type { Request } from '../request/request.js';
import { kindOf } from '../rules/kinds.js';
import { withFloor } from '../rules/plan.js';
import type { DenyReason } from '../values/deny-reason.js';
import { ACCOUNT_NAME } from '../policy/schema.js';
import { untrustedWriter } from '../trust.js';
import { statFields } from './proc.js';

/** Where an account's slots live: `sessions/` beside root's audit log, `sessions.ACCOUNT/` for another account's (install.sh --account makes it). */
export function slotDirectory(auditFile: string, uid: number, user: string): string {
  const dir = dirname(auditFile);
  return uid === 0 || !ACCOUNT_NAME.test(user) ? join(dir, 'sessions') : join(dir, `sessions.${user}`);
}

/** The start time of a process in clock ticks since boot (/proc/PID/stat, field 22), or null when there is no such process. */
export function processStart(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** Whether a slot's text (its link target) names a process that is still the one that took it. */
export function holderAlive(text: string, startOf: (pid: number) => string | null = processStart): boolean {
  const match = /^([1-9][0-9]{0,9})-([0-9]{1,20})$/.exec(text);
  return match !== null && startOf(Number(match[1])) === match[2];
}

export type SlotResult = { ok: true; release(): void } | { ok: false; busy: true } | { ok: false; busy: false; error: string };

/** A slot's holder as its link names it; null when there is no slot; '' when it is no symlink (planted: free to take). */
function readSlot(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
  }
}

/**
 * Frees a slot whose holder is gone; false when it is held. The slot is moved to a private name
 * first (rename(2) moves one file to one taker), so that two dispatchers that both saw it stale
 * cannot both remove it, the second taking away the slot the first had just filled again.
 */
function reclaim(path: string, seen: string): boolean {
  const moved = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, moved);
  } catch {
    return true; // gone already: someone else freed it; try to take it
  }
  const text = readSlot(moved);
  if (text !== seen && text !== null && holderAlive(text)) {
    // Taken again between our look and the move: put it back.
    try {
      symlinkSync(text, path);
    } catch {
      // Taken by a third in the meantime: that one holds it.
    }
  }
  try {
    unlinkSync(moved);
  } catch {
    // Nothing to clean.
  }
  return text === seen || text === null || !holderAlive(text);
}

/**
 * Takes one of `max` slots named `key` in `dir`. The directory is made (mode 0700) when missing
 * and refused when someone else could write it.
 */
/**
 * The slots' directory, made (mode 0700) when missing. Another session starting at the same moment
 * may make it first (found by CI: the first two sessions of a fresh install both saw it missing,
 * and the slower one was refused as limits-unusable): its EEXIST is this one's success.
 */
export function openSlotDirectory(dir: string, make: (dir: string) => void = (path) => mkdirSync(path, { mode: 0o700 })): Stats | string {
  try {
    return lstatSync(dir);
  } catch {
    try {
      make(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${dir}: ${(error as NodeJS.ErrnoException).code}`;
    }
    try {
      return lstatSync(dir);
    } catch (error) {
      return `cannot create ${dir}: ${(error as NodeJS.ErrnoException).code}`;
    }
  }
}

export function takeSlot(dir: string, key: string, max: number, uid = process.getuid?.() ?? 0): SlotResult {
  const stats = openSlotDirectory(dir);
  if (typeof stats === 'string') return { ok: false, busy: false, error: stats };
  if (!stats.isDirectory()) return { ok: false, busy: false, error: `${dir} is not a directory (or is a symlink)` };
  const why = untrustedWriter(stats, uid);
  if (why) return { ok: false, busy: false, error: `${dir} is ${why}` };
  const me = `${process.pid}-${processStart(process.pid)}`;
  for (let i = 0; i < max; i++) {
    const path = join(dir, `${key}.${i}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        symlinkSync(me, path);
        return { ok: true, release: () => release(path, me) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          return { ok: false, busy: false, error: `cannot take a slot in ${dir}: ${(error as NodeJS.ErrnoException).code}` };
      }
      const seen = readSlot(path);
      if (seen === null) continue; // freed as we looked
      if (holderAlive(seen) || !reclaim(path, seen)) break;
    }
  }
  return { ok: false, busy: true };
}

/** Frees a slot this process holds (a slot since taken by another, after ours was found stale, is left). */
function release(path: string, me: string): void {
  if (readSlot(path) !== me) return;
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

/** The slot key of an identity's sessions (identity names are safe file names: NAME_PATTERN). */
export const sessionKey = (identity: string) => `id-${identity}`;

/** A limit that refused a session: its reason and the record's detail. */
export interface LimitRefusal {
  reason: DenyReason;
  detail: string;
}

export interface LimitsHeld {
  refusal: LimitRefusal | null;
  release(): void;
}

/**
 * Takes the slots an allowed session needs: one of the identity's max-sessions, and the root's
 * lock for a single-run rsync rule. Refused (and nothing held) when one is not free or the slot
 * directory cannot be used: a limit that cannot be counted is not kept, so it fails closed.
 */
export function takeLimits(identity: Identity, rule: Rule, dir: string, take: typeof takeSlot = takeSlot): LimitsHeld {
  const held: (() => void)[] = [];
  const releaseAll = () => {
    for (const release of held.splice(0)) release();
  };
  const wanted: { key: string; max: number; busy: LimitRefusal }[] = [];
  if (identity.maxSessions) {
    wanted.push({
      key: sessionKey(identity.name),
      max: identity.maxSessions,
      busy: {
        reason: 'max-sessions',
        detail: `identity ${identity.name} has ${identity.maxSessions} session(s) running (max-sessions: ${identity.maxSessions})`,
      },
    });
  }
  const alone = kindOf(rule.kind).runsAlone(rule);
  if (alone) wanted.push({ key: alone.key, max: 1, busy: { reason: 'rsync-single-run', detail: `rule ${rule.name}: ${alone.what}` } });
  for (const { key, max, busy } of wanted) {
    const taken = take(dir, key, max);
    if (taken.ok) {
      held.push(taken.release);
      continue;
    }
    releaseAll();
    return { refusal: taken.busy ? busy : { reason: 'limits-unusable', detail: `${basename(dir)}: ${taken.error}` }, release: () => {} };
  }
  return { refusal: null, release: releaseAll };
}

/**
 * An allowed decision under its identity's limits: the identity's floor put into the plan, and
 * the slots it needs taken (max-sessions, a rule that runs alone), or refused. Nothing is looked
 * at on disk for an identity and rule without either. Forced-command mode only (explain takes no slot).
 */
export interface Limited {
  decision: Decision;
  /** Gives the slots back (an execve'd program keeps them with its pid until it ends). */
  release(): void;
}

export function underLimits(decision: Decision, policy: Policy | null, request: Request): Limited {
  if (decision.decision !== 'allow' || policy === null) return { decision, release: () => {} };
  const identity = policy.identities.get(request.identity)!;
  const rule = identity.rules.find((r) => r.name === decision.rule.name)!;
  const held = takeLimits(identity, rule, slotDirectory(policy.audit.file, process.getuid?.() ?? 0, request.user));
  if (held.refusal)
    return { decision: deny(held.refusal.reason, held.refusal.detail, decision.words, decision.trace), release: held.release };
  return { decision: { ...decision, plan: withFloor(decision.plan, identity.minFreeBytes ?? null) }, release: held.release };
}
