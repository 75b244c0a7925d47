/**
 * Every deny reason code (decide/deny-reason.ts) is produced somewhere in src/ and asserted
 * somewhere in test/: a code nothing produces is a promise in the docs and the audit record that
 * never comes true; a code no test names can stop being produced unnoticed.
 *
 * "Produced" and "asserted" are read from the source: the code as a quoted literal in a src
 * file other than the table of codes, and in a test file other than this one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DENY_REASONS, type DenyReason } from '../src/values/deny-reason.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

/**
 * Codes no code path produces yet, each with why (nor can a test assert them); the test fails
 * once one is produced.
 */
const NOT_PRODUCED: Partial<Record<DenyReason, string>> = {};

function files(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repo, join(e.parentPath, e.name)));
}

const texts = (paths: string[]) => paths.map((path) => ({ path, text: readFileSync(join(repo, path), 'utf8') }));
// The table of codes and their descriptions names every code: it is found by what it holds, not
// by its path, so that moving it cannot make it count as a producer.
const producers = texts(files('src')).filter((s) => !s.text.includes('export const DENY_REASONS'));
const tests = texts(files('test').filter((p) => p !== 'test/reason-codes.test.ts'));
const quoted = (code: string) => new RegExp(`(['"\`])${code.replaceAll('-', '\\-')}\\1`);
const naming = (sources: { path: string; text: string }[], code: string) =>
  sources.filter((s) => quoted(code).test(s.text)).map((s) => s.path);

const codes = Object.keys(DENY_REASONS) as DenyReason[];

describe('deny reason codes', () => {
  it('the list is read (not vacuous)', () => {
    expect(codes.length).toBeGreaterThan(30);
    expect(producers.length).toBeGreaterThan(30);
    expect(producers.length).toBe(files('src').length - 1);
    expect(tests.length).toBeGreaterThan(30);
  });

  it.each(codes.filter((c) => !(c in NOT_PRODUCED)))('%s is produced in src/', (code) => {
    expect(naming(producers, code), `${code}: nothing in src/ produces it`).not.toEqual([]);
  });

  it.each(Object.keys(NOT_PRODUCED))('%s is still not produced (else drop it from NOT_PRODUCED)', (code) => {
    expect(naming(producers, code)).toEqual([]);
  });

  it.each(codes.filter((c) => !(c in NOT_PRODUCED)))('%s is asserted by a test', (code) => {
    expect(naming(tests, code), `${code}: no test names it`).not.toEqual([]);
  });
});
