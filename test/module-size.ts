/**
 * Module and function sizes, counted with the TypeScript compiler API (not a regex): every
 * source file under src/ longer than MAX_FILE_LINES, and every function, method, accessor or
 * arrow longer than MAX_FUNCTION_LINES (from its first token to its last, doc comment excluded).
 * Used by test/module-size.test.ts; run it alone to list them:
 *   node test/module-size.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 300;
export const MAX_FUNCTION_LINES = 80;

export interface Offender {
  /** `src/x.ts` for a file, `src/x.ts:name` for a function. */
  id: string;
  lines: number;
}

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Lines of a file as an editor numbers them (a final newline does not start another). */
function fileLines(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** A function's name as a reader would look it up: its own, its variable's or property's, or its line. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  const own = node.name;
  if (own !== undefined && (ts.isIdentifier(own) || ts.isStringLiteral(own) || ts.isPrivateIdentifier(own))) {
    const owner = node.parent;
    const prefix = ts.isClassLike(owner) && owner.name !== undefined ? `${owner.name.text}.` : '';
    return prefix + own.text;
  }
  if (ts.isConstructorDeclaration(node))
    return `${ts.isClassLike(node.parent) && node.parent.name ? node.parent.name.text : ''}.constructor`;
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
    ts.isIdentifier(parent.name)
  )
    return parent.name.text;
  return `<anonymous at line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}>`;
}

/** The offenders of one source text; `file` is how it is named (src/...). */
export function offendersOf(file: string, text: string): Offender[] {
  const found: Offender[] = [];
  const lines = fileLines(text);
  if (lines > MAX_FILE_LINES) found.push({ id: file, lines });
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      if (last - first + 1 > MAX_FUNCTION_LINES) found.push({ id: `${file}:${functionName(fn, source)}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every offender under src/, in path order. */
export function offenders(): Offender[] {
  return readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .flatMap((f) => offendersOf(`src/${f}`, readFileSync(join(SRC, f), 'utf8')));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { id, lines } of offenders()) console.log(`${String(lines).padStart(5)}  ${id}`);
}
