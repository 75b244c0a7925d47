/**
 * Reading one policy file's YAML document: every value is checked as it is read, and every
 * mistake becomes an error naming file, line, key and what was expected, collected rather than
 * stopping at the first. The yaml package's document API keeps node offsets, so each value can be
 * traced back to its line. The frame (policy/parse.ts) and each rule kind (rules/<kind>/parse.ts)
 * read their keys through it. The kinds import only its type: the yaml package is loaded with
 * policy/parse.ts, which a connection imports only when the compiled cache misses.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PolicyError } from './policy-error.js';
import { parseOctalMask } from './units.js';

export type { Node } from 'yaml';

/** Where a value was written: what explain, check and the audit record point the admin at. */
export interface Where {
  file: string;
  line: number;
}

/** Reads one file's document; collects errors instead of stopping at the first. */
export class Reader {
  readonly errors: PolicyError[] = [];
  /** Required keys already reported missing (or as a misspelling): reading their absent value again is not a second error. */
  private readonly reported = new Set<string>();
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
  ) {}

  where(node: Node | null | undefined): Where {
    return { file: this.file, line: this.line(node) };
  }

  line(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  error(node: Node | null | undefined, key: string, message: string): null {
    if (node == null && this.reported.has(key)) return null;
    this.errors.push({ file: this.file, line: this.line(node), key, message });
    return null;
  }

  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null) ?? null;
  }

  /** A mapping with only `allowed` keys and every `required` one; values by key. */
  map(node: Node | null, key: string, allowed: readonly string[], required: readonly string[] = []): Map<string, Node | null> | null {
    if (!isMap(node)) return this.error(node, key, `expected a mapping, got ${describe(node)}`);
    const values = new Map<string, Node | null>();
    const misspelt = new Set<string>();
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.error(keyNode, key, `expected a plain key, got ${describe(keyNode)}`);
        continue;
      }
      const name = keyNode.value;
      const path = join(key, name);
      if (!allowed.includes(name)) {
        const near = nearest(name, allowed);
        if (near !== null) misspelt.add(near);
        this.error(
          keyNode,
          path,
          `unknown key${near === null ? '' : `, did you mean "${near}"?`} (expected one of: ${allowed.join(', ')})`,
        );
        continue;
      }
      values.set(name, this.resolve(pair.value));
    }
    for (const name of required) {
      if (values.has(name)) continue;
      // One mistake, one error: "nam: did you mean name?" already says that name is missing.
      if (!misspelt.has(name)) this.error(node, key, `missing required key "${name}"`);
      this.reported.add(join(key, name));
    }
    return values;
  }

  /** A mapping from free-form names to values (identities, env). */
  entries(node: Node | null, key: string): [string, Node | null, Node][] | null {
    if (!isMap(node)) return this.error(node, key, `expected a mapping, got ${describe(node)}`);
    const result: [string, Node | null, Node][] = [];
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        this.error(keyNode, key, `expected a plain key, got ${describe(keyNode)}`);
        continue;
      }
      result.push([String(keyNode.value), this.resolve(pair.value), keyNode]);
    }
    return result;
  }

  list(node: Node | null, key: string): (Node | null)[] | null {
    if (!isSeq(node)) return this.error(node, key, `expected a list, got ${describe(node)}`);
    return node.items.map((item) => this.resolve(item));
  }

  string(node: Node | null, key: string, check?: { test: (s: string) => boolean; expected: string }): string | null {
    if (!isScalar(node) || typeof node.value !== 'string') {
      return this.error(node, key, `expected ${check?.expected ?? 'a string'}, got ${describe(node)}`);
    }
    if (/[\u0000-\u001f\u007f]/.test(node.value)) return this.error(node, key, 'control characters are not allowed');
    if (check && !check.test(node.value)) return this.error(node, key, `expected ${check.expected}, got ${describe(node)}`);
    return node.value;
  }

  boolean(node: Node | null, key: string): boolean | null {
    if (!isScalar(node) || typeof node.value !== 'boolean') return this.error(node, key, `expected true or false, got ${describe(node)}`);
    return node.value;
  }

  /** Whether the value is a list (an exec command may be a list of words or one string). */
  isList(node: Node | null): boolean {
    return isSeq(node);
  }

  /** A whole number of at least `min` (a count of files). */
  count(node: Node | null, key: string, min: number): number | null {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < min) {
      return this.error(node, key, `expected a whole number of files, ${min} or more, got ${describe(node)}`);
    }
    return node.value;
  }

  /** A whole number from `min` to `max`, described to the admin as `what` (a niceness). */
  integer(node: Node | null, key: string, min: number, max: number, what: string): number | null {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < min || node.value > max) {
      return this.error(node, key, `expected ${what}, a whole number from ${min} to ${max}, got ${describe(node)}`);
    }
    return node.value;
  }

  /** An octal mode ("0600") or mask ("0077") in quotes: YAML would read an unquoted 0600 as the number 600. */
  octal(node: Node | null, key: string, what: 'mode' | 'mask'): number | null {
    const example = what === 'mode' ? '0600' : '0077';
    if (isScalar(node) && typeof node.value === 'number') {
      return this.error(
        node,
        key,
        `expected an octal string such as "${example}" in quotes (YAML reads an unquoted ${String(node.value)} as a decimal number)`,
      );
    }
    const text = this.string(node, key, { test: (s) => parseOctalMask(s) !== null, expected: `an octal ${what} such as "${example}"` });
    return text === null ? null : parseOctalMask(text);
  }

  stringList(node: Node | null, key: string, check?: { test: (s: string) => boolean; expected: string }): string[] | null {
    const items = this.list(node, key);
    if (!items) return null;
    const values = items.map((item, i) => this.string(item, `${key}[${i}]`, check));
    return values.every((v): v is string => v !== null) ? values : null;
  }
}

function join(key: string, name: string): string {
  return key ? `${key}.${name}` : name;
}

export function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'null';
    if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    return `${typeof value} ${String(value)}`;
  }
  return 'an unsupported value';
}

/** The allowed key within edit distance 2 of a misspelt one (the closest, the first on a tie), or null. */
export function nearest(name: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
