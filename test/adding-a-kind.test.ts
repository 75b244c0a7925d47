/**
 * docs/adding-a-kind.md describes every cell of the kinds tables: a member added to RuleKind
 * (src/rules/kinds.ts) or HostKind (src/host/kinds.ts) that the page does not name fails here,
 * and so does a cell the page names that the tables no longer have.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_KINDS } from '../src/rules/kinds.js';
import { HOST_KINDS } from '../src/host/kinds.js';

const page = readFileSync(new URL('../docs/adding-a-kind.md', import.meta.url), 'utf8');

/** The cells a table section of the page names: its rows' first column. */
function cellsOf(heading: string): string[] {
  const section = page.split(/^## /m).find((s) => s.startsWith(heading)) ?? '';
  return [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]!).sort();
}

describe('docs/adding-a-kind.md', () => {
  it('names every cell of the pure row (RULE_KINDS), and no other', () => {
    const members = [...new Set(Object.values(RULE_KINDS).flatMap((row) => Object.keys(row)))].sort();
    expect(cellsOf('2. The pure row')).toEqual(members);
  });

  it('names every cell of the host row (HOST_KINDS), and no other', () => {
    const members = [...new Set(Object.values(HOST_KINDS).flatMap((row) => Object.keys(row)))].sort();
    expect(cellsOf('3. The host row')).toEqual(members);
  });

  it('every kind fills every cell (null where it does not apply, never missing)', () => {
    for (const table of [RULE_KINDS, HOST_KINDS] as unknown as Record<string, object>[]) {
      const rows = Object.values(table);
      const members = new Set(rows.flatMap((row) => Object.keys(row)));
      for (const row of rows) expect(Object.keys(row).sort()).toEqual([...members].sort());
    }
  });
});
