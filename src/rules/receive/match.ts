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
  return template.replace(/\{(timestamp|date|time|id)\}/g, (_, key: string) => ({ timestamp: `${date}-${time}`, date, time, id: identity })[key]!);
}

/**
 * A regular expression for the names a template produces (for retention), with the -N suffix
 * that keeps names unique inserted where uniqueName() inserts it.
 */
export function templatePattern(template: string, identity: string): string {
  const parts: Record<string, string> = { timestamp: '[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}', date: '[0-9]{4}-[0-9]{2}-[0-9]{2}', time: '[0-9]{6}', id: escape(identity) };
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

/** `name` with -N before its first dot (after the first character), as uploads in one second need. */
export function uniqueName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.indexOf('.', 1);
  return dot < 0 ? `${name}-${n}` : `${name.slice(0, dot)}-${n}${name.slice(dot)}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function plan(rule: ReceiveRule, name: string, request: Request, expect: ReceivePlan['expect']): ReceiveOutcome {
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
      retention: { pattern: templatePattern(rule.fileName, request.identity), clientName: rule.clientName },
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
    return refuse(`${JSON.stringify(name)} is not a plain file name (letters, digits and . _ + -, not starting with a dot, at most 255 bytes)`);
  }
  if (!matchPattern(compilePattern(rule.clientName), name)) return refuse(`${JSON.stringify(name)} does not match client-name ${JSON.stringify(rule.clientName)}`);
  return plan(rule, name, request, expect);
}
