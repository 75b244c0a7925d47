/**
 * The decision core is pure: same input, same answer, no I/O (README, "Working on it"). These
 * modules may not import what does I/O; the effects live in src/act/, src/audit/sink.ts,
 * src/policy/load.ts, src/request/session-env.ts and src/cli/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const pure = [
  ...readdirSync(`${src}decide`, { recursive: true }).map((f) => `decide/${String(f)}`).filter((f) => f.endsWith('.ts')),
  'request/tokenize.ts',
  'request/request.ts',
  'policy/parse.ts',
  'policy/units.ts',
  'policy/schema.ts',
  'audit/record.ts',
  'audit/escape.ts',
];
const EFFECTS = /from '(node:)?(fs|child_process|net|dgram|worker_threads|fs\/promises)'|process\.(env|exit|chdir|kill)/;

it.each(pure)('src/%s does no I/O', (file) => {
  const text = readFileSync(`${src}${file}`, 'utf8');
  expect(text.split('\n').filter((line) => EFFECTS.test(line))).toEqual([]);
});
