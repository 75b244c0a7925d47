/**
 * Comments that send the reader to a document or a test must send them somewhere that exists:
 * every markdown file and every test file named in src/ and test/ is a file in the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const sources = ['src', 'test'].flatMap((dir) =>
  readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repo, join(e.parentPath, e.name))),
);
const citations = sources.flatMap((path) =>
  [...readFileSync(join(repo, path), 'utf8').matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md|test\/[\w./-]+\.test\.ts)\b/g)].map((m) => ({ path, cited: m[1]! })),
);

describe('citations in comments', () => {
  it('finds some (not vacuous)', () => expect(citations.length).toBeGreaterThan(5));

  it.each(citations.map(({ path, cited }) => [path, cited]))('%s cites %s, which exists', (_path, cited) => {
    expect(existsSync(join(repo, cited))).toBe(true);
  });
});
