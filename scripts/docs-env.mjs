// Renders the table of refused environment variables in docs/environment.md from the list the
// dispatcher itself checks (REFUSED_VARIABLES in src/request/session-env.ts), so that the page
// names every variable that denies and no other. The table sits between
// `<!-- refused-env:begin -->` and `<!-- refused-env:end -->`; the rest of the page is by hand.
//   node scripts/docs-env.mjs           rewrite docs/environment.md (npm run docs does both pages)
//   node scripts/docs-env.mjs --check   exit 1 when docs/environment.md differs
// test/docs-env.test.ts fails on drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DOC_PATH = `${ROOT}docs/environment.md`;
const BEGIN = '<!-- refused-env:begin -->';
const END = '<!-- refused-env:end -->';

function cell(text, where) {
  // A | splits a markdown row.
  if (/[|\n]/.test(text)) throw new Error(`docs-env: ${where}: no | and no line break in a cell`);
  return text;
}

/** The table, one row per entry of the list, in the list's order. */
export function renderTable(refused) {
  const rows = refused.map(
    (v) =>
      `| ${v.name
        .split(', ')
        .map((n) => `\`${n}\``)
        .join(
          ', ',
        )} | ${cell(v.readBy, v.name)} | ${cell(v.why, v.name)} | ${v.accepted ? `when it ${cell(v.accepted, v.name)}` : 'never'} |`,
  );
  return ['| variable | read by | why it is refused | accepted |', '|---|---|---|---|', ...rows].join('\n');
}

/** The markdown with the table between its markers rendered from `refused`; the markers must be there once each. */
export function renderRefusedEnv(markdown, refused) {
  const from = markdown.indexOf(BEGIN);
  const to = markdown.indexOf(END);
  if (from < 0 || to < from || markdown.indexOf(BEGIN, from + 1) >= 0)
    throw new Error(`docs-env: docs/environment.md needs ${BEGIN} and ${END}, once each, in that order`);
  return `${markdown.slice(0, from + BEGIN.length)}\n${renderTable(refused)}\n${markdown.slice(to)}`;
}

/** The list as the dispatcher has it: src/request/session-env.ts bundled by esbuild (production never runs TypeScript). */
export async function readRefusedVariables() {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [`${ROOT}src/request/session-env.ts`],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const module = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
  return module.REFUSED_VARIABLES;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(DOC_PATH, 'utf8');
  const rendered = renderRefusedEnv(current, await readRefusedVariables());
  if (process.argv.includes('--check')) {
    if (rendered !== current) {
      console.error('docs/environment.md: the table differs from src/request/session-env.ts; run npm run docs');
      process.exit(1);
    }
  } else if (rendered !== current) {
    writeFileSync(DOC_PATH, rendered);
    console.log('docs/environment.md: refused variables rendered from src/request/session-env.ts');
  }
}
