/**
 * Short modules of one concern (issue 26): no src file over 300 lines, no function over 80,
 * counted with the TypeScript compiler API (test/module-size.ts; `node test/module-size.ts`
 * lists them). The rsync option table is data, kept whole beside rrsync's shape.
 */
import { describe, expect, it } from 'vitest';
import { MAX_FILE_LINES, MAX_FUNCTION_LINES, offenders, offendersOf } from './module-size.js';

/** Over the size on purpose: the rsync server option table, as data (rules/rsync/server-options.ts). */
const EXCEPTIONS: readonly string[] = ['src/rules/rsync/server-options.ts'];

describe('module and function sizes', () => {
  it(`no src file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}, but the option table`, () => {
    const over = offenders().filter(({ id }) => !EXCEPTIONS.includes(id));
    expect(over.map(({ id, lines }) => `${id}: ${lines} lines`)).toEqual([]);
  });
});

describe('the counter', () => {
  const lines = (n: number, line = '  x++;') => Array.from({ length: n }, () => line).join('\n');
  const fn = (name: string, bodyLines: number) => `function ${name}() {\n${lines(bodyLines)}\n}\n`;

  it('counts a function from its first line to its last: 80 passes, 81 does not', () => {
    expect(offendersOf('src/a.ts', fn('fits', 78))).toEqual([]);
    expect(offendersOf('src/a.ts', fn('over', 79))).toEqual([{ id: 'src/a.ts:over', lines: 81 }]);
  });

  it('does not count the doc comment above a function', () => {
    expect(offendersOf('src/a.ts', `/**\n${lines(10, ' * why')}\n */\n${fn('fits', 78)}`)).toEqual([]);
  });

  it('names arrows, methods and accessors by what holds them', () => {
    const text = [
      `const arrow = () => {\n${lines(80)}\n};`,
      `class Box {\n  method() {\n${lines(80)}\n  }\n  get size() {\n${lines(80)}\n    return 1;\n  }\n}`,
      `const table = { entry: function () {\n${lines(80)}\n} };`,
    ].join('\n');
    // (The text is over 300 lines too: only the functions are looked at here.)
    expect(
      offendersOf('src/a.ts', text)
        .map((o) => o.id)
        .filter((id) => id.includes(':')),
    ).toEqual(['src/a.ts:arrow', 'src/a.ts:Box.method', 'src/a.ts:Box.size', 'src/a.ts:entry']);
  });

  it('counts a nested function on its own, and its outer one with it', () => {
    const text = `function outer() {\n  const inner = () => {\n${lines(80)}\n  };\n}\n`;
    expect(offendersOf('src/a.ts', text).map((o) => o.id)).toEqual(['src/a.ts:outer', 'src/a.ts:inner']);
  });

  it(`flags a file over ${MAX_FILE_LINES} lines, not one of exactly ${MAX_FILE_LINES}`, () => {
    expect(offendersOf('src/a.ts', `${lines(MAX_FILE_LINES, '// line')}\n`)).toEqual([]);
    expect(offendersOf('src/a.ts', `${lines(MAX_FILE_LINES + 1, '// line')}\n`)).toEqual([{ id: 'src/a.ts', lines: MAX_FILE_LINES + 1 }]);
  });
});
