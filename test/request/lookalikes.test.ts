/**
 * The look-alikes of "." "/" "\" are derived from Unicode's normalisation (issue 14: U+FE30,
 * U+2100, U+2101, U+2105 and U+2106 passed a hand-made list).
 */
import { describe, expect, it } from 'vitest';
import { NORMALISES_TO_DOT_OR_SLASH } from '../../src/request/lookalikes.js';
import { tokenize } from '../../src/request/tokenize.js';

/** Every non-ASCII code point whose NFKC or NFKD form holds ".", "/" or "\". */
function computeNormalisingLookalikes(): number[] {
  const found: number[] = [];
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const char = String.fromCodePoint(cp);
    if (/[./\\]/.test(char.normalize('NFKC')) || /[./\\]/.test(char.normalize('NFKD'))) found.push(cp);
  }
  return found;
}

describe('NORMALISES_TO_DOT_OR_SLASH', () => {
  it("is exactly what this Node's Unicode tables give (on failure, paste the printed line into src/request/lookalikes.ts)", () => {
    const computed = computeNormalisingLookalikes();
    const table = Array.from(NORMALISES_TO_DOT_OR_SLASH, (c) => c.codePointAt(0)!);
    const line = `'${computed.map((cp) => (cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`)).join('')}'`;
    expect(table, `regenerated: ${line}`).toEqual(computed);
  });
});

describe('tokenize refuses every normalising look-alike', () => {
  it.each([
    ['U+FE30 (NFKC "..")', '\ufe30'],
    ['U+2100 (NFKC "a/c")', '\u2100'],
    ['U+2101 (NFKC "a/s")', '\u2101'],
    ['U+2105 (NFKC "c/o")', '\u2105'],
    ['U+2106 (NFKC "c/u")', '\u2106'],
    ['U+2026 (NFKC "...")', '\u2026'],
    ['U+FF3C (NFKC "\\")', '\uff3c'],
    ['U+1F100 (NFKC "0.")', '\u{1f100}'],
    ['U+FF0E (NFKC ".")', '\uff0e'],
    ['U+2215 (looks like "/")', '\u2215'],
  ])('%s', (_, char) => {
    const result = tokenize(`du -sh /srv/backup/x${char}${char}/etc`);
    expect(result).toMatchObject({ ok: false, reason: 'tokenize-invisible-character' });
  });

  it('names the code point, astral ones whole', () => {
    expect(tokenize('cat \u{1f100}')).toMatchObject({ detail: 'U+1F100 at offset 4' });
  });

  it('still lets other non-ASCII text through (names in other scripts, emoji)', () => {
    expect(tokenize('cat /srv/backup/Übersicht-😀.txt')).toMatchObject({ ok: true });
  });
});
