/** rsync `nice:` and `ionice:` (rules/priority.ts): parsed, carried on the plan, shown, and started as an argv prefix. */
import { describe, expect, it } from 'vitest';
import { launchOf } from '../../../src/act/exec.js';
import { decisionFields } from '../../../src/audit/record.js';
import { decide } from '../../../src/decide/decide.js';
import { parsePolicyText } from '../../../src/policy/parse.js';
import { priorityPrefix } from '../../../src/rules/priority.js';
import { execPlan, policyFrom, requestFor } from '../../helpers.js';

const rule = (extra: string) =>
  `version: 1\nidentities:\n  w: { rules: [ { name: push, rsync: { root: /srv/backup, access: write, sandbox: false${extra} } } ] }\n`;
const B = '-logDtpre.iLsfxCIvu';

describe('nice and ionice of an rsync rule', () => {
  it.each([
    ['', [], {}],
    [', nice: 19', ['/usr/bin/nice', '-n', '19'], { nice: 19 }],
    [', nice: 0', ['/usr/bin/nice', '-n', '0'], { nice: 0 }],
    [', ionice: idle', ['/usr/bin/ionice', '-c', '3'], { ionice: 'idle' }],
    [', ionice: best-effort', ['/usr/bin/ionice', '-c', '2'], { ionice: 'best-effort' }],
    [', ionice: "best-effort:7"', ['/usr/bin/ionice', '-c', '2', '-n', '7'], { ionice: 'best-effort:7' }],
    [', nice: 10, ionice: idle', ['/usr/bin/ionice', '-c', '3', '/usr/bin/nice', '-n', '10'], { nice: 10, ionice: 'idle' }],
  ])('%s', (extra, prefix, fields) => {
    const decision = decide(policyFrom(rule(extra)), requestFor('w', `sudo -n nice -n 5 rsync --server ${B} . dst/`));
    const plan = execPlan(decision);
    expect(priorityPrefix(plan.priority)).toEqual(prefix);
    expect((decisionFields(decision) as Record<string, unknown>).priority).toEqual(Object.keys(fields).length > 0 ? fields : undefined);
    // The client's own nice (-n 5) is not what runs: the argv is the rule's rsync, the prefix the rule's.
    expect(plan.argv[0]).toBe('/usr/bin/rsync');
    const launch = launchOf(plan);
    expect(launch.argv).toEqual([...prefix, ...plan.argv]);
    expect(launch.program).toBe(prefix[0] ?? '/usr/bin/rsync');
  });

  it.each([
    ['nice: 20', /nice: expected a niceness, a whole number from 0 to 19/],
    ['nice: -5', /nice: expected a niceness/],
    ['nice: "19"', /nice: expected a niceness/],
    ['ionice: realtime', /ionice: expected idle, best-effort or best-effort:N/],
    ['ionice: "idle:3"', /ionice: expected idle/],
    ['ionice: "best-effort:8"', /ionice: expected idle/],
  ])('refuses %s', (extra, message) => {
    const parsed = parsePolicyText('p.yaml', rule(`, ${extra}`));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => `${e.key}: ${e.message}`).join('\n')).toMatch(message);
  });
});
