/**
 * docs/environment.md's table of refused variables is rendered from REFUSED_VARIABLES
 * (src/request/session-env.ts) by scripts/docs-env.mjs (npm run docs): the page holds exactly
 * what the script renders, every variable the check refuses has its row, and a change to the
 * list changes the page (the drift check can fail). The README said 4 of them before (issue 27).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the build scripts are plain JavaScript, run by npm scripts as well.
import { renderRefusedEnv } from '../scripts/docs-env.mjs';
import { REFUSED_VARIABLES, unsafeVariablesSet } from '../src/request/session-env.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(join(repo, 'docs/environment.md'), 'utf8');
const table = page.split('<!-- refused-env:begin -->')[1]?.split('<!-- refused-env:end -->')[0] ?? '';
/** Each name the table shows, prefixes with their `*`. */
const shown = [...table.matchAll(/`([A-Z_]+\*?)`/g)].map((m) => m[1]!);

describe('docs/environment.md, the refused variables', () => {
  it('is what scripts/docs-env.mjs renders from src/request/session-env.ts (else: npm run docs)', () => {
    expect(page).toBe(renderRefusedEnv(page, REFUSED_VARIABLES));
  });

  it('changes when the list changes, and refuses a missing marker', () => {
    const more = [...REFUSED_VARIABLES, { name: 'NEW_VARIABLE', readBy: 'someone', why: 'a reason' }];
    expect(renderRefusedEnv(page, more)).toContain('| `NEW_VARIABLE` | someone | a reason | never |');
    expect(() => renderRefusedEnv(page.replace('<!-- refused-env:end -->', ''), REFUSED_VARIABLES)).toThrow(/refused-env:end/);
  });

  it('every variable the check refuses is shown: each name or prefix on the page denies, and nothing else in a probe does', () => {
    expect(shown.length).toBeGreaterThan(20);
    const probe = (name: string) => name.replace(/\*$/, 'X');
    for (const name of shown) expect(unsafeVariablesSet({ [probe(name)]: '/a/path' }), name).toEqual([probe(name)]);
    // Names near the refused ones that pass: the list is not wider than the page says.
    for (const name of ['NODE_ENV', 'TMPDIR', 'TZ', 'PATH', 'HOME', 'REQUESTS_CA_BUNDLE', 'http_proxy', 'LANG']) {
      expect(unsafeVariablesSet({ [name]: 'C.UTF-8' }), name).toEqual([]);
    }
  });

  it('is linked from the docs index', () => {
    expect(readFileSync(join(repo, 'docs/README.md'), 'utf8')).toMatch(/\]\(environment\.md\)/);
  });
});
