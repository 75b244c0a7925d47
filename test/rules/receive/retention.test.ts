/**
 * keep, keep-within and max-uploads: what a policy may say, the window and cap each rule gets
 * (an existing `keep: N` keeps loading and gets a safe window), and what check says when the
 * window, N and the cap cannot all hold.
 */
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicyText } from '../../../src/policy/parse.js';
import { lintPolicy } from '../../../src/policy/lint.js';
import type { ReceiveRule } from '../../../src/rules/receive/rule.js';
import { retentionOf } from '../../../src/rules/receive/retention.js';
import { decide } from '../../../src/decide/decide.js';
import { receivePlanLines } from '../../../src/rules/receive/explain.js';
import type { ReceivePlan } from '../../../src/rules/plan.js';
import { policyFrom, requestFor } from '../../helpers.js';

const H = 3_600_000;
const D = 24 * H;
const header = 'version: 1\nidentities:\n  a:\n    rules:\n';
const rule = (receive: string, frame = '') =>
  `${header}      - name: x\n${frame}        receive: { dir: /srv, name: "b-{timestamp}", ${receive} }\n`;

function receiveRule(yaml: string): ReceiveRule {
  const parsed = parsePolicyText('p.yaml', yaml);
  if (!parsed.ok) throw new Error(parsed.errors.map(formatPolicyError).join('\n'));
  return parsed.fragment.identities[0]!.rules[0] as ReceiveRule;
}

describe('parsing', () => {
  it.each([
    [
      'keep-within without keep',
      rule('keep-within: 14d'),
      'p.yaml:6: identities.a.rules[0].receive.keep-within: keep-within goes with keep',
    ],
    ['max-uploads without keep', rule('max-uploads: 9'), 'p.yaml:6: identities.a.rules[0].receive.max-uploads: max-uploads goes with keep'],
    [
      'a window that is no duration',
      rule('keep: 3, keep-within: 2 weeks'),
      'p.yaml:6: identities.a.rules[0].receive.keep-within: expected a duration such as 14d or 36h (at most 366d), or 0 for no window, got "2 weeks"',
    ],
    ['a bare number of days', rule('keep: 3, keep-within: 14'), 'receive.keep-within: expected a duration'],
    ['a window past 366d', rule('keep: 3, keep-within: 400d'), 'receive.keep-within: expected a duration'],
    ['a cap of 0', rule('keep: 3, max-uploads: 0'), 'receive.max-uploads: expected a whole number of files, 1 or more'],
    [
      'a cap without a window',
      rule('keep: 3, keep-within: 0, max-uploads: 9'),
      'receive.max-uploads: max-uploads counts the uploads within keep-within, which is 0 here',
    ],
  ])('%s is an error with file:line', (_, yaml, message) => {
    const parsed = parsePolicyText('p.yaml', yaml);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map(formatPolicyError).join('\n')).toContain(message);
  });

  it.each([
    // what the rule says, its frame, keep, window, cap
    ['nothing', '', '', null, 0, null],
    ['keep alone (a policy from before windows): N days, 2N', 'keep: 14', '', 14, 14 * D, 28],
    ['keep with expect-every: N periods, 2N', 'keep: 48', '        expect-every: 1h\n', 48, 48 * H, 96],
    ['a window longer than N periods: twice the uploads in it', 'keep: 3, keep-within: 14d', '', 3, 14 * D, 28],
    ['a window shorter than N periods: twice N', 'keep: 14, keep-within: 3d', '', 14, 3 * D, 28],
    ['both said', 'keep: 3, keep-within: 36h, max-uploads: 5', '', 3, 36 * H, 5],
    ['window 0 (quoted): no window, no cap', 'keep: 3, keep-within: "0"', '', 3, 0, null],
    ['window 0: no window, no cap', 'keep: 3, keep-within: 0', '', 3, 0, null],
  ])('%s', (_, receive, frame, keep, windowMs, maxUploads) => {
    expect(retentionOf(receiveRule(rule(receive, frame)))).toMatchObject({ keep, windowMs, maxUploads });
  });
});

describe('check', () => {
  const warnings = (receive: string, frame = '') =>
    lintPolicy(policyFrom(rule(receive, frame)), new Date(2026, 10, 24)).map((f) => `${f.level} ${f.message}`);

  it.each([
    [
      'keep alone',
      'keep: 14',
      '',
      'warning rule "x": keep: 14 without keep-within or expect-every assumes one upload a day (no expect-every): uploads younger than 14d are never removed, and past 28 within it an upload is refused',
    ],
    [
      'a window N cannot fill',
      'keep: 14, keep-within: 3d',
      '        expect-every: 1d\n',
      'warning rule "x": keep: 14 at one upload every 1d (expect-every) spans 14d, but keep-within: 3d guards only the last 3d: 15 uploads of a stolen key remove the older ones; keep-within: 14d holds both',
    ],
    [
      'a cap the rule itself passes',
      'keep: 3, keep-within: 2d, max-uploads: 10',
      '        expect-every: 1h\n',
      'warning rule "x": max-uploads: 10 within keep-within: 2d is fewer than the 48 uploads one upload every 1h (expect-every) puts there: the rule\'s own uploads will be refused (outcome "flood"); raise max-uploads to at least 48',
    ],
    [
      'no window',
      'keep: 3, keep-within: 0',
      '',
      'warning rule "x": keep-within: 0 keeps only a count: 4 uploads of a stolen key remove every earlier upload, however young',
    ],
  ])('%s', (_, receive, frame, message) => {
    expect(warnings(receive, frame).join('\n')).toContain(message);
  });

  it('says nothing about a rule whose window, N and cap agree', () => {
    expect(warnings('keep: 14', '        expect-every: 26h\n')).toEqual([]);
    expect(warnings('keep: 14, keep-within: 14d, max-uploads: 20', '        expect-every: 1d\n')).toEqual([]);
  });

  it.each([
    ['a glob that takes the template names', 'client-name: "b-*"', true],
    ['a glob apart from them', 'client-name: "manual-*"', false],
  ])('%s: %s', (_, receive, warned) => {
    expect(warnings(receive).some((w) => w.includes("also matches the template's names"))).toBe(warned);
  });
});

describe('explain', () => {
  const lines = (receive: string, command: string, frame = '') => {
    const decision = decide(policyFrom(rule(receive, frame)), requestFor('a', command));
    if (decision.decision !== 'allow') throw new Error(decision.detail);
    return receivePlanLines(decision.plan as ReceivePlan).join('\n');
  };

  it.each([
    [
      'keep: 14',
      'receive',
      '        expect-every: 26h\n',
      'keeps the newest 14 and all younger than 15d4h; at most 28 uploads within 15d4h, more are refused',
    ],
    ['keep: 3, keep-within: 0', 'receive', '', 'keeps the newest 3 (no window: any young upload may go)'],
    ['client-name: "m-*"', 'receive m-1', '', 'as m-1 (refused if that name is taken)'],
    ['client-name: "m-*"', 'receive', '', '(a -N suffix if that name is taken)'],
  ])('%s, %s', (receive, command, frame, text) => {
    expect(lines(receive, command, frame)).toContain(text);
  });
});
