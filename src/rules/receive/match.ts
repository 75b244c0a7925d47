/**
 * receive rules: `receive`, `receive NAME`, optionally `--size BYTES` and `--sha256 HEX` (what
 * the client knows the upload will be), or with accept-empty a session that sent no command.
 * The name comes from the rule's template, or from the client when the rule's client-name glob
 * allows it; either way it is a plain basename, never a path (docs/threat-model.md, "receive").
 */
import type { ReceiveRule } from './rule.js';
import type { Request } from '../../request/request.js';
import type { DenyReason } from '../../values/deny-reason.js';
import { compilePattern, matchPattern } from '../../values/pattern.js';
import type { ReceivePlan } from '../plan.js';
import { retentionOf } from './retention.js';

/** A client-chosen name: no dot first (no .ssh, no temp names), no slash, nothing a shell reads. */
export const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;
/** What a rule's name template may hold besides its placeholders. */
export const TEMPLATE = /^(?:[A-Za-z0-9._+-]|\{(?:timestamp|date|time|id)\})+$/;

export type ReceiveOutcome = { ok: true; plan: ReceivePlan } | { ok: false; why: string; reason: DenyReason | null };

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The template with {timestamp} (YYYY-MM-DD-HHMMSS), {date}, {time} (HHMMSS) in local time, {id}. */
export function renderName(template: string, now: Date, identity: string): string {
  const date = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return template.replace(
    /\{(timestamp|date|time|id)\}/g,
    (_, key: string) => ({ timestamp: `${date}-${time}`, date, time, id: identity })[key]!,
  );
}

/**
 * A regular expression for the names a template produces (for retention), with the -N suffix
 * that keeps names unique inserted where uniqueName() inserts it.
 */
export function templatePattern(template: string, identity: string, loose = false): string {
  const digits = (n: number) => (loose ? '[0-9]+' : `[0-9]{${n}}`);
  const parts: Record<string, string> = {
    timestamp: [4, 2, 2, 6].map(digits).join('-'),
    date: [4, 2, 2].map(digits).join('-'),
    time: digits(6),
    id: escape(identity),
  };
  let pattern = '';
  let suffixPlaced = false;
  for (const piece of template.split(/(\{[a-z]+\})/)) {
    const placeholder = /^\{([a-z]+)\}$/.exec(piece);
    if (placeholder) {
      pattern += parts[placeholder[1]!]!;
      continue;
    }
    for (const [i, c] of [...piece].entries()) {
      if (c === '.' && !suffixPlaced && (pattern !== '' || i > 0)) {
        pattern += '(?:-[0-9]+)?';
        suffixPlaced = true;
      }
      pattern += escape(c);
    }
  }
  return `^${pattern}${suffixPlaced ? '' : '(?:-[0-9]+)?'}$`;
}

/**
 * Whether a client-chosen name is one the rule's template gives, could give on any date, or sorts
 * among them (docs/policy.md, "Names"): `backup-9999-12-31-235959.tar` sorts
 * after every real upload, and the template's next name would push the owner's upload to a -1
 * suffix. So: the template's shape with digit runs of any length (`backup-99999-...`), and any
 * name that starts as the template's names do up to their first digit or {id}
 * (`backup-2026-11-24.tar` sorts after that day's uploads).
 */
export function reservedName(template: string, identity: string, name: string): boolean {
  if (new RegExp(templatePattern(template, identity, true)).test(name)) return true;
  const first = /\{([a-z]+)\}/.exec(template);
  if (!first) return false;
  const start = escape(template.slice(0, first.index)) + (first[1] === 'id' ? escape(identity) : '[0-9]');
  return new RegExp(`^${start}`).test(name);
}

/** `name` with -N before its first dot (after the first character), as uploads in one second need. */
export function uniqueName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.indexOf('.', 1);
  return dot < 0 ? `${name}-${n}` : `${name.slice(0, dot)}-${n}${name.slice(dot)}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function plan(rule: ReceiveRule, name: string, request: Request, expect: ReceivePlan['expect'], chosen = false): ReceiveOutcome {
  const retention = retentionOf(rule);
  return {
    ok: true,
    plan: {
      kind: 'receive',
      dir: rule.dir,
      name,
      mode: rule.mode,
      maxBytes: rule.maxBytes,
      minFreeBytes: rule.minFreeBytes,
      idleTimeoutMs: rule.idleTimeoutMs,
      keep: rule.keep,
      chosen,
      retention: {
        pattern: templatePattern(rule.fileName, request.identity),
        clientName: rule.clientName,
        windowMs: retention.windowMs,
        maxUploads: retention.maxUploads,
      },
      expect,
    },
  };
}

/** A session with no command: served only by a rule with accept-empty. */
export function matchEmptyReceive(rule: ReceiveRule, request: Request): ReceiveOutcome {
  if (!rule.acceptEmpty) return { ok: false, why: 'no command, and the rule has no accept-empty', reason: null };
  return plan(rule, renderName(rule.fileName, request.now, request.identity), request, { size: null, sha256: null });
}

export function matchReceive(rule: ReceiveRule, words: readonly string[], request: Request): ReceiveOutcome {
  if (words[0] !== 'receive') return { ok: false, why: 'not a receive command', reason: null };
  const refuse = (why: string): ReceiveOutcome => ({ ok: false, why, reason: 'receive-refused' });
  let name: string | null = null;
  const expect: ReceivePlan['expect'] = { size: null, sha256: null };
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--size' || word === '--sha256') {
      const value = words[++i];
      if (value === undefined) return refuse(`${word} needs a value`);
      if (word === '--size') {
        if (!/^[0-9]{1,15}$/.test(value)) return refuse(`--size ${value}: not a byte count`);
        expect.size = Number(value);
      } else {
        if (!/^[0-9a-fA-F]{64}$/.test(value)) return refuse('--sha256 needs 64 hex digits');
        expect.sha256 = value.toLowerCase();
      }
    } else if (name === null && !word.startsWith('-')) {
      name = word;
    } else {
      return refuse(`unexpected ${JSON.stringify(word)} (receive [NAME] [--size BYTES] [--sha256 HEX])`);
    }
  }
  if (name === null) return plan(rule, renderName(rule.fileName, request.now, request.identity), request, expect);
  if (rule.clientName === null) return refuse('the rule does not let the client choose a name (no client-name)');
  if (!CLIENT_NAME.test(name) || Buffer.byteLength(name) > 255) {
    return refuse(
      `${JSON.stringify(name)} is not a plain file name (letters, digits and . _ + -, not starting with a dot, at most 255 bytes)`,
    );
  }
  if (!matchPattern(compilePattern(rule.clientName), name))
    return refuse(`${JSON.stringify(name)} does not match client-name ${JSON.stringify(rule.clientName)}`);
  if (reservedName(rule.fileName, request.identity, name)) {
    return {
      ok: false,
      why: `${JSON.stringify(name)} is a name the rule's template ${JSON.stringify(rule.fileName)} gives: only the server chooses those`,
      reason: 'receive-name-reserved',
    };
  }
  return plan(rule, name, request, expect, true);
}
