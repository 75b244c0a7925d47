/**
 * Characters that a filesystem normalising names (ZFS normalization=formKC or formKD) turns into
 * text holding ".", "/" or "\": U+FE30 is "..", U+2100 is "a/c", U+FF0F is "/". A command holding
 * one names a different path after normalisation than the one the rules were matched against.
 *
 * Derived from Unicode itself (every non-ASCII code point whose NFKC or NFKD form holds one of
 * the three), not listed by hand: test/request/lookalikes.test.ts recomputes it with this Node's
 * Unicode tables and prints the line to paste here when it differs.
 */
export const NORMALISES_TO_DOT_OR_SLASH =
  '\u2024\u2025\u2026\u2100\u2101\u2105\u2106\u2488\u2489\u248a\u248b\u248c\u248d\u248e\u248f\u2490\u2491\u2492\u2493\u2494\u2495\u2496\u2497\u2498\u2499\u249a\u249b\u33c2\u33c7\u33d8\ufe19\ufe30\ufe52\ufe68\uff0e\uff0f\uff3c\u{1f100}';

/** Look-alikes of "/" by shape only (fraction and division slash): no normalisation makes them "/", but a reader takes them for one. */
export const LOOKS_LIKE_SLASH = '\u2044\u2215';
