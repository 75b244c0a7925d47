/**
 * Comments that send the reader to a document or a test must send them somewhere that exists:
 * every markdown file and every test file named in src/ and test/ is a file in the repository,
 * and a section named with it (`docs/policy.md, "Patterns"`) is a heading or a bold paragraph
 * label of that file, so that moving a section cannot leave its citations pointing at nothing.
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
const texts = new Map(sources.map((path) => [path, readFileSync(join(repo, path), 'utf8')]));
const citations = sources.flatMap((path) =>
  [...texts.get(path)!.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md|test\/[\w./-]+\.test\.ts)\b/g)].map((m) => ({ path, cited: m[1]! })),
);

// A document and a section in it, as in the comment above, with or without the comma.
const sections = sources.flatMap((path) =>
  [...texts.get(path)!.matchAll(/(?<![\w/.-])((?:docs\/)?[\w-]+\.md),? "([^"]+)"/g)].map((m) => ({ path, cited: m[1]!, section: m[2]! })),
);
const plain = (text: string) => text.replace(/[`"*]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
/** The headings and the bold labels that open paragraphs or items (`**Silent stand-ins.** ...`) of a markdown file. */
function titles(file: string): string[] {
  const text = readFileSync(join(repo, file), 'utf8');
  return [...text.matchAll(/^#{1,6} (.*)$/gm), ...text.matchAll(/^(?:\s*- )?\*\*(.+?)\*\*/gm)].map((m) => plain(m[1]!));
}

describe('citations in comments', () => {
  it('finds some (not vacuous)', () => expect(citations.length).toBeGreaterThan(5));

  it.each(citations.map(({ path, cited }) => [path, cited]))('%s cites %s, which exists', (_path, cited) => {
    expect(existsSync(join(repo, cited))).toBe(true);
  });
});

describe('sections cited in comments', () => {
  it('finds some (not vacuous)', () => expect(sections.length).toBeGreaterThan(20));

  it.each(sections.map(({ path, cited, section }) => [path, cited, section]))(
    '%s cites %s, "%s", which has it',
    (_path, cited, section) => {
      expect(existsSync(join(repo, cited))).toBe(true);
      expect(titles(cited).some((title) => title.includes(plain(section)))).toBe(true);
    },
  );
});
