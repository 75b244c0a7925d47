import { describe, expect, it } from 'vitest';
import { parseForcedArgs } from '../../src/serve/command-line.js';
import { DEFAULT_POLICY_PATH } from '../../src/policy/schema.js';

describe('the command= line flags', () => {
  it.each([
    [['--id', 'a'], { identity: 'a', policyPath: DEFAULT_POLICY_PATH, learn: false }],
    [['--id=a'], { identity: 'a', policyPath: DEFAULT_POLICY_PATH, learn: false }],
    [['--id', 'a', '--policy', '/p'], { identity: 'a', policyPath: '/p', learn: false }],
    [['--policy=/p', '--learn', '--id', 'a'], { identity: 'a', policyPath: '/p', learn: true }],
    // From before every key served the applied policy: accepted, and changes nothing.
    [['--id', 'a', '--approved'], { identity: 'a', policyPath: DEFAULT_POLICY_PATH, learn: false }],
  ])('%j', (args, expected) => expect(parseForcedArgs(args)).toEqual(expected));

  it.each([
    [[], '--id ID is required'],
    [['--policy', '/p'], '--id ID is required'],
    [['--id'], '--id needs a value'],
    [['--id', '--policy', '/p'], '--id needs a value'],
    [['--id='], '--id needs a value'],
    [['--id', 'a', '--id', 'b'], 'duplicate --id'],
    [['--id', 'a', '--learn', '--learn'], 'duplicate --learn'],
    [['--id', 'a', '--approved', '--approved'], 'duplicate --approved'],
    [['--id', 'a', '--polic', '/p'], 'unexpected argument "--polic"'],
    [['--id', 'a', 'extra'], 'unexpected argument "extra"'],
    [['-i', 'a'], 'unexpected argument "-i"'],
    [['--ID', 'a'], 'unexpected argument "--ID"'],
    // Relative, the session would read it from the account's home (attack review, issue 19).
    [['--id', 'a', '--policy', 'policies'], '--policy policies: give an absolute path'],
    [['--id', 'a', '--policy=./p'], '--policy ./p: give an absolute path'],
  ])('%j is refused: %s', (args, message) => expect(parseForcedArgs(args)).toBe(message));
});
