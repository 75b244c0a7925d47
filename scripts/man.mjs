// Generates what documents ssh-dispatch outside the checkout, from the texts it already has, so
// that neither can drift from them:
//   dist/man/ssh-dispatch.8         from the program's own --help output (the *_HELP strings of
//                                   src/main.ts and src/cli/*.ts), each subcommand's verbatim
//   dist/man/ssh-dispatch-policy.5  from docs/policy.md, its key tables rendered from the schema
//                                   (scripts/docs-keys.mjs) whether or not npm run docs was run
//   dist/completion/ssh-dispatch    bash completion: the subcommands and the flags those help
//                                   texts list
// The help texts come from running the built core bundle (dist/ssh-dispatch-core.cjs), not the
// launcher: the launcher would write a compile cache into dist/. Run by scripts/build.mjs after
// the bundle, or alone: npm run man.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSchema, renderKeys } from './docs-keys.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Roff-escapes text for a man page; every non-ASCII character becomes a named glyph. */
export function escapeRoff(text) {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/'/g, '\\(aq')
    .replace(/`/g, '\\(ga')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** A line that would start with . or ' is a request to roff: \& keeps it text. */
function line(text) {
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

/** Markdown inline markup to roff: `code` and **strong** in bold, *em* in italics, links as their text. */
export function inline(text) {
  const parts = [];
  let rest = text;
  const token = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)/;
  for (let m = token.exec(rest); m; m = token.exec(rest)) {
    parts.push(escapeRoff(rest.slice(0, m.index)));
    if (m[1] !== undefined) parts.push(`\\fB${escapeRoff(m[1])}\\fR`);
    else if (m[2] !== undefined) parts.push(`\\fB${inline(m[2])}\\fR`);
    else if (m[3] !== undefined) parts.push(`\\fI${inline(m[3])}\\fR`);
    else parts.push(inline(m[4]));
    rest = rest.slice(m.index + m[0].length);
  }
  parts.push(escapeRoff(rest));
  return parts.join('');
}

/** A table row's cells (a | inside `code` stays in its cell). */
function cells(row) {
  const out = [];
  let cell = '';
  let code = false;
  for (const c of row.trim().replace(/^\|/, '').replace(/\|$/, '')) {
    if (c === '`') code = !code;
    if (c === '|' && !code) {
      out.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  out.push(cell.trim());
  return out;
}

/** Markdown (the subset docs/ uses) to man(7) requests. */
export function markdownToRoff(markdown) {
  const lines = markdown.replace(/\r/g, '').split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const text = lines[i];
    // Blank lines, and comments such as the key tables' markers (scripts/docs-keys.mjs).
    if (text.trim() === '' || /^<!--.*-->$/.test(text.trim())) {
      i++;
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(text);
    if (heading) {
      out.push(`${heading[1].length <= 2 ? '.SH' : '.SS'} "${inline(heading[2]).replace(/"/g, '\\(dq')}"`);
      i++;
      continue;
    }
    if (text.startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      out.push('.PP', '.RS 4', '.nf', ...code.map((c) => line(escapeRoff(c))), '.fi', '.RE');
      continue;
    }
    if (text.startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(cells(lines[i]));
      const [header, , ...body] = rows;
      // A table as tagged paragraphs: the first column is the tag, the others "heading: value".
      out.push('.PP', `\\fB${inline(header.join(' | '))}\\fR`);
      for (const row of body) {
        out.push('.TP', line(inline(row[0] ?? '')));
        const rest = row
          .slice(1)
          .map((value, n) =>
            value === '' ? '' : n === row.length - 2 ? inline(value) : `${inline(header[n + 1] ?? '')}: ${inline(value)}.`,
          );
        out.push(line(rest.filter(Boolean).join(' ')));
      }
      continue;
    }
    const item = /^(\s*)(?:[-*]|\d+\.)\s+(.*)$/.exec(text);
    if (item) {
      const words = [item[2]];
      for (i++; i < lines.length && /^\s+\S/.test(lines[i]) && !/^\s*(?:[-*]|\d+\.)\s/.test(lines[i]); i++) words.push(lines[i].trim());
      out.push('.IP \\(bu 2', line(inline(words.join(' '))));
      continue;
    }
    const words = [];
    for (; i < lines.length && lines[i].trim() !== '' && !/^(#{1,4}\s|```|\||\s*(?:[-*]|\d+\.)\s)/.test(lines[i]); i++)
      words.push(lines[i].trim());
    out.push('.PP', line(inline(words.join(' '))));
  }
  return out.join('\n');
}

function header(name, section, title) {
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
  // No hyphenation and a ragged right margin: paths and flags stay whole.
  return [
    `.\\" Generated by scripts/man.mjs: do not edit.`,
    `.TH ${name.toUpperCase()} ${section} "" "ssh-dispatch ${version}" "${title}"`,
    '.nh',
    '.ad l',
  ];
}

/** The help texts, by running the core bundle: [name, text], the top-level --help first. */
export function helpTexts(core) {
  const run = (args) => execFileSync(process.execPath, [core, ...args], { encoding: 'utf8' }).trimEnd();
  const top = run(['--help']);
  const names = [
    ...new Set([...top.matchAll(/^(?:Usage:)?\s+ssh-dispatch (\[run\]|[a-z][a-z-]*)/gm)].map((m) => m[1].replace(/[[\]]/g, ''))),
  ];
  return [['ssh-dispatch', top], ...names.map((name) => [name, run([name, '--help'])])];
}

/** Flags a help text lists, each with whether it takes a value and the value's name. */
export function flagsOf(help) {
  const flags = new Map();
  // The usage lines and the option table's first column, not flags prose mentions (rsync's own
  // --sender, say): the first paragraph, and each line's leading flags (with ", --x" aliases).
  const [usage, ...rest] = help.split('\n\n');
  const options = rest
    .join('\n')
    .split('\n')
    .map((l) => /^\s+(--?[a-z][^\s,]*(?: [^\s-][^\s]*)?(?:, --?[a-z][^\s,]*(?: [^\s-][^\s]*)?)*)/.exec(l)?.[1] ?? '');
  help = [usage, ...options].join('\n');
  // A value is an upper-case name (PATH, 'PATH', HOST:PORT) or choices (allow|deny|learn).
  for (const m of help.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)(?:[ =](?!--)'?([A-Z][A-Za-z0-9:._|-]*|[a-z]+(?:\|[a-z]+)+)'?)?/g)) {
    if (!flags.has(m[1]) || (m[2] && !flags.get(m[1]))) flags.set(m[1], m[2] ?? '');
  }
  return flags;
}

const verbatim = (text) => ['.PP', '.nf', ...text.split('\n').map((l) => line(escapeRoff(l))), '.fi'];

export function commandPage(helps) {
  const [[, top], ...subcommands] = helps;
  const [usage, ...about] = top.split('\n\n');
  return [
    ...header('ssh-dispatch', 8, "System Manager's Manual"),
    '.SH NAME',
    'ssh\\-dispatch \\- an SSH forced\\-command dispatcher: whitelist policies for rsync, uploads, relays and plain commands, with an audit log',
    '.SH SYNOPSIS',
    ...verbatim(usage.replace(/^Usage: /, '').replace(/^\s+/gm, '')),
    '.SH DESCRIPTION',
    ...about.flatMap((paragraph) => verbatim(paragraph)),
    '.SH COMMANDS',
    "Each section is the subcommand's \\fB\\-\\-help\\fR output.",
    ...subcommands.flatMap(([name, text]) => [`.SS ${name}`, ...verbatim(text)]),
    '.SH FILES',
    '.TP',
    '.I /etc/ssh\\-dispatch/policies',
    'the default policy (a YAML file or a directory of them); see \\fBssh\\-dispatch\\-policy\\fR(5)',
    '.TP',
    '.I /var/log/ssh\\-dispatch/audit.jsonl',
    'the default audit log, one JSON record a line',
    '.SH SEE ALSO',
    '\\fBssh\\-dispatch\\-policy\\fR(5), \\fBsshd\\fR(8), \\fBsshd_config\\fR(5), \\fBbwrap\\fR(1), \\fBlogger\\fR(1)',
    '',
  ].join('\n');
}

export function policyPage(markdown) {
  const body = markdown.replace(/^# .*\n/, '');
  return [
    ...header('ssh-dispatch-policy', 5, 'File Formats Manual'),
    '.SH NAME',
    'ssh\\-dispatch\\-policy \\- the policy files of ssh\\-dispatch',
    '.SH DESCRIPTION',
    markdownToRoff(body),
    '.SH SEE ALSO',
    '\\fBssh\\-dispatch\\fR(8)',
    '',
  ].join('\n');
}

/** Flags whose value is a file or directory: completed with paths. */
const PATH_VALUES = /^(PATH|FILE|DIR|KEY\.pub)$/;

export function completionScript(helps) {
  const [[, top], ...subcommands] = helps;
  const topFlags = [...flagsOf(top).keys()].filter((f) => f === '--help' || f === '--version');
  const names = subcommands.map(([name]) => name);
  const pathFlags = new Set();
  const valueFlags = new Set();
  const choiceFlags = new Map();
  const cases = subcommands.map(([name, text]) => {
    const flags = flagsOf(text);
    flags.set('--help', flags.get('--help') ?? '');
    for (const [flag, value] of flags) {
      if (PATH_VALUES.test(value)) pathFlags.add(flag);
      else if (/^[a-z]+(\|[a-z]+)+$/.test(value)) choiceFlags.set(flag, value.replace(/\|/g, ' '));
      else if (value) valueFlags.add(flag);
    }
    return `    ${name}) flags="${[...flags.keys()].sort().join(' ')}" ;;`;
  });
  return `# bash completion for ssh-dispatch. Generated by scripts/man.mjs from the --help texts: do not edit.
_ssh_dispatch() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} sub= flags word
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) ;; *) sub=$word; break ;; esac
  done
  case "$prev" in
    ${[...pathFlags].sort().join('|')}) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
${[...choiceFlags].map(([flag, choices]) => `    ${flag}) COMPREPLY=($(compgen -W "${choices}" -- "$cur")); return ;;\n`).join('')}    ${[...valueFlags].sort().join('|')}) COMPREPLY=(); return ;;
  esac
  case "$sub" in
    '') flags="${topFlags.join(' ')} --id --policy"
      [[ $cur == -* ]] || { COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur")); return; } ;;
${cases.join('\n')}
    *) flags="--help" ;;
  esac
  COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -F _ssh_dispatch ssh-dispatch
`;
}

/** Writes the pages and the completion script below outDir (dist/ by default). */
export function generate(core = `${ROOT}dist/ssh-dispatch-core.cjs`, outDir = `${ROOT}dist/`) {
  const helps = helpTexts(core);
  mkdirSync(`${outDir}man`, { recursive: true });
  mkdirSync(`${outDir}completion`, { recursive: true });
  writeFileSync(`${outDir}man/ssh-dispatch.8`, commandPage(helps));
  writeFileSync(`${outDir}man/ssh-dispatch-policy.5`, policyPage(renderKeys(readFileSync(`${ROOT}docs/policy.md`, 'utf8'), readSchema())));
  writeFileSync(`${outDir}completion/ssh-dispatch`, completionScript(helps));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) generate();
