/** Every example policy users copy from policies/ loads as shipped. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicyText } from '../../src/policy/parse.js';

const dir = fileURLToPath(new URL('../../policies/', import.meta.url));
const examples = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));

describe('policies/', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThan(0));
  it.each(examples)('%s loads without errors', (name) => {
    const parsed = parsePolicyText(name, readFileSync(`${dir}${name}`, 'utf8'));
    expect(parsed.ok ? [] : parsed.errors.map(formatPolicyError)).toEqual([]);
  });
});
