import { describe, expect, it } from 'vitest';
import { pinPull } from '../../../src/rules/rsync/pin.js';

describe('pinPull: the directory a pull starts in, and what rsync is then given', () => {
  it.each([
    // operands, relative, anchor, operands after
    [['.'], false, [], ['.']],
    [['dst/'], false, ['dst'], ['./']],
    [['dst/.'], false, ['dst'], ['.']],
    [['a/b/c/'], false, ['a', 'b', 'c'], ['./']],
    [['a//b/'], false, ['a', 'b'], ['./']],
    [['dst'], false, [], ['dst']],
    [['dst/file'], false, ['dst'], ['file']],
    [['a/b/file.tar'], false, ['a', 'b'], ['file.tar']],
    [['./dst/'], false, ['dst'], ['./']],
    [['logs/a.gz', 'logs/b.gz'], false, ['logs'], ['a.gz', 'b.gz']],
    [['a/x/', 'a/y/'], false, ['a'], ['x/', 'y/']],
    [['a/x/', 'b/y'], false, [], ['a/x/', 'b/y']],
    [['a/x/', 'a'], false, [], ['a/x/', 'a']],
    [['a/x/f', 'a/x/'], false, ['a', 'x'], ['f', './']],
    // --relative: the whole path is the transmitted name unless "/./" says where it starts.
    [['dst/file'], true, [], ['dst/file']],
    [['dst/'], true, [], ['dst/']],
    [['.'], true, [], ['.']],
    [['snap/./etc/passwd'], true, ['snap'], ['etc/passwd']],
    [['a/b/./c/'], true, ['a', 'b'], ['c/']],
    [['sub/./'], true, ['sub'], ['./']],
    [['a/./x', 'a/./y'], true, ['a'], ['x', 'y']],
    [['a/b/./x', 'a/./y'], true, ['a'], ['b/./x', 'y']],
    [['a/./x', 'other'], true, [], ['a/./x', 'other']],
    [['a/.//x'], true, [], ['a/.//x']],
  ] as [string[], boolean, string[], string[]][])('%j relative=%s → %j %j', (operands, relative, anchor, after) => {
    expect(pinPull(operands, relative)).toEqual({ anchor, operands: after });
  });
});
