/**
 * docs/threat-model.md backs each claim with the tests that pin it, in brackets: those must exist,
 * or the page is promising what nothing checks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(`${repo}docs/threat-model.md`, 'utf8');
const cited = [...new Set([...page.matchAll(/\[(test\/[^\]]+)\]/g)].flatMap((m) => m[1]!.split(':')[0]!.split(/,\s*/)))];

describe('docs/threat-model.md', () => {
  it('cites tests', () => expect(cited.length).toBeGreaterThan(10));

  it.each(cited)('%s exists', (ref) => {
    const candidates = [ref, `${ref}.test.ts`, `${ref}.e2e.test.ts`];
    expect(
      candidates.some((c) => existsSync(`${repo}${c}`)),
      `${ref} cited but not found`,
    ).toBe(true);
  });
});
