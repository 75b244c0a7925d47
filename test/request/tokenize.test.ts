/**
 * The tokenizer: what a client's command string becomes, and every way it is refused.
 * Rows read as "this string → these words" or "this string → refused for this reason".
 */
import { parse as shellQuoteParse } from 'shell-quote';
import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/request/tokenize.js';

const accepted: [string, string[]][] = [
  ['ls', ['ls']],
  ['du -sh /srv/backup', ['du', '-sh', '/srv/backup']],
  ['  ls\t -l  ', ['ls', '-l']],
  ['rsync --server -logDtpre.iLsfxCIvu . dest/', ['rsync', '--server', '-logDtpre.iLsfxCIvu', '.', 'dest/']],
  // rsync >= 3.2.4 escapes operands with backslashes
  ['rsync --server -e.iLsfxCIvu . dest\\ 5/', ['rsync', '--server', '-e.iLsfxCIvu', '.', 'dest 5/']],
  ['cat a\\#b', ['cat', 'a#b']],
  ['cat \\$\\(x\\)', ['cat', '$(x)']],
  ['cat a\\;b a\\&b a\\|b \\<x\\>', ['cat', 'a;b', 'a&b', 'a|b', '<x>']],
  ['cat \\!x \\{a,b\\} \\~root', ['cat', '!x', '{a,b}', '~root']],
  ['cat \\*.gz a\\?', ['cat', '*.gz', 'a?']],
  ['cat x\\\\y', ['cat', 'x\\y']],
  ['cat \\-', ['cat', '-']],
  // hand-quoted
  ["cat 'q1 report.pdf'", ['cat', 'q1 report.pdf']],
  ['cat "a b"', ['cat', 'a b']],
  [`cat 'a$b' '$(id)' '\`id\`' 'a;b' '*'`, ['cat', 'a$b', '$(id)', '`id`', 'a;b', '*']],
  ['cat "a\\$b" "a\\"b" "a\\\\b"', ['cat', 'a$b', 'a"b', 'a\\b']],
  ['cat a\\`b', ['cat', 'a`b']],
  ['cat "a\\b"', ['cat', 'a\\b']], // backslash before an ordinary character stays, inside double quotes
  ["cat 'a\\'", ['cat', 'a\\']],
  [`cat a'b'"c"d`, ['cat', 'abcd']],
  ["cat '' x", ['cat', '', 'x']],
  ['cat a=b --x=y', ['cat', 'a=b', '--x=y']],
  ['cat a~b x]', ['cat', 'a~b', 'x]']],
  ['cat Müller/Übersicht', ['cat', 'Müller/Übersicht']],
  ['cat 😀', ['cat', '😀']],
  ['cat 100% a^b a,b a:b a@b a+b', ['cat', '100%', 'a^b', 'a,b', 'a:b', 'a@b', 'a+b']],
];

const refused: [string, string, string][] = [
  // operators
  ['list then id', 'ls; id', 'tokenize-operator'],
  ['and', 'ls && id', 'tokenize-operator'],
  ['or', 'ls || id', 'tokenize-operator'],
  ['pipe', 'ls | sh', 'tokenize-operator'],
  ['background', 'sleep 1 &', 'tokenize-operator'],
  ['redirect out', 'cat > /etc/passwd', 'tokenize-operator'],
  ['redirect append', 'echo x >> ~/.ssh/authorized_keys', 'tokenize-operator'],
  ['redirect in', 'cat < /etc/shadow', 'tokenize-operator'],
  ['fd redirect', 'ls 2>&1', 'tokenize-operator'],
  ['here-string', 'cat <<< x', 'tokenize-operator'],
  ['subshell', '(id)', 'tokenize-operator'],
  ['process substitution', 'cat <(id)', 'tokenize-operator'],
  ['operator glued to a word', 'ls;id', 'tokenize-operator'],
  // substitution
  ['command substitution', 'cat $(id)', 'tokenize-substitution'],
  ['arithmetic', 'echo $((1+1))', 'tokenize-substitution'],
  ['backticks', 'cat `id`', 'tokenize-substitution'],
  ['substitution in double quotes', 'cat "$(id)"', 'tokenize-substitution'],
  ['backtick in double quotes', 'cat "`id`"', 'tokenize-substitution'],
  // variables
  ['variable', 'cat $HOME/.ssh/id_rsa', 'tokenize-variable'],
  ['braced variable', 'cat ${HOME}', 'tokenize-variable'],
  ['unterminated braced variable', 'cat ${', 'tokenize-variable'],
  ['positional', 'cat $1', 'tokenize-variable'],
  ['pid', 'cat $$', 'tokenize-variable'],
  ['lone dollar', 'cat $', 'tokenize-variable'],
  ['variable in double quotes', 'cat "$HOME"', 'tokenize-variable'],
  ['indirect', 'cat ${!x}', 'tokenize-variable'],
  // expansion
  ['ANSI-C quoting decodes escapes', "cat $'\\x2e\\x2e/etc/shadow'", 'tokenize-expansion'],
  ['locale quoting', 'cat $"x"', 'tokenize-expansion'],
  ['tilde', 'cat ~/.ssh/id_rsa', 'tokenize-expansion'],
  ['tilde user', 'cat ~root/x', 'tokenize-expansion'],
  ['braces', 'cat {a,b}', 'tokenize-expansion'],
  ['bang', '! ls', 'tokenize-expansion'],
  // comments
  ['comment', 'ls # x', 'tokenize-comment'],
  ['hash inside a word (sh: literal, shell-quote: comment)', 'cat a#b', 'tokenize-comment'],
  // the two readers disagree: POSIX drops the backslash of \` inside double quotes, shell-quote keeps it
  ['escaped backtick inside double quotes', 'cat "a\\`b"', 'tokenize-divergence'],
  // quoting errors
  ['unbalanced single', "cat 'abc", 'tokenize-unbalanced-quote'],
  ['unbalanced double', 'cat "abc', 'tokenize-unbalanced-quote'],
  ['trailing backslash', 'cat abc\\', 'tokenize-trailing-backslash'],
  // control characters
  ['newline', 'ls\nid', 'tokenize-control-character'],
  ['carriage return', 'ls\rid', 'tokenize-control-character'],
  ['NUL', 'cat a\u0000b', 'tokenize-control-character'],
  ['ESC', 'cat \u001b[2J', 'tokenize-control-character'],
  ['DEL', 'cat a\u007f', 'tokenize-control-character'],
  ['C1 CSI', 'cat a\u009b', 'tokenize-control-character'],
  ['vertical tab', 'ls\u000bid', 'tokenize-control-character'],
  ['form feed', 'ls\u000cid', 'tokenize-control-character'],
  ['newline inside single quotes', "cat 'a\nb'", 'tokenize-control-character'],
  ['escaped newline', 'cat a\\\nb', 'tokenize-control-character'],
  ['tab inside quotes', "cat 'a\tb'", 'tokenize-control-character'],
  ['escaped tab', 'cat a\\\tb', 'tokenize-control-character'],
  // invisible characters
  ['no-break space as separator', 'rsync\u00a0--server', 'tokenize-invisible-character'],
  ['line separator', 'ls\u2028id', 'tokenize-invisible-character'],
  ['zero width space', 'rs\u200bync', 'tokenize-invisible-character'],
  ['bidi override', 'cat report\u202efdp.exe', 'tokenize-invisible-character'],
  ['BOM', '\ufeffls', 'tokenize-invisible-character'],
  ['ideographic space', 'ls\u3000id', 'tokenize-invisible-character'],
  ['invalid UTF-8 (decoded as U+FFFD)', 'cat a\ufffd', 'tokenize-invisible-character'],
  ['lone surrogate', 'cat a\ud800', 'tokenize-invisible-character'],
  // sizes
  ['1 MB input', `cat ${'a'.repeat(1024 * 1024)}`, 'tokenize-too-long'],
  ['just over 64 KiB', `cat ${'a'.repeat(64 * 1024)}`, 'tokenize-too-long'],
  ['argument flood', 'a '.repeat(5000), 'tokenize-too-many-words'],
  ['one word over 4096 bytes', `cat ${'a'.repeat(4097)}`, 'tokenize-word-too-long'],
];

describe('tokenize', () => {
  it.each(accepted)('%j → words', (command, words) => {
    expect(tokenize(command)).toEqual({ ok: true, words, globs: new Map() });
  });

  // Unquoted glob characters are not refused here: the word is kept, with a micromatch pattern
  // in which what was quoted or escaped is escaped. decide() lets only rsync pull paths use it.
  it.each([
    ['cat *.gz', 1, '*.gz', '*.gz'],
    ['cat a?', 1, 'a?', 'a?'],
    ['cat [ab]', 1, '[ab]', '[ab]'],
    ['cat logs/*.log', 1, 'logs/*.log', 'logs/*.log'],
    ["cat 'my dir'/*.txt", 1, 'my dir/*.txt', 'my dir/*.txt'],
    ['cat a\\*b*', 1, 'a*b*', 'a\\*b*'],
    ["cat 'x(1)'*", 1, 'x(1)*', 'x\\(1\\)*'],
    ['cat a+b@c*', 1, 'a+b@c*', 'a\\+b\\@c*'],
  ])('%j keeps word %i as %j with pattern %j', (command, index, word, pattern) => {
    const result = tokenize(command);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.words[index]).toBe(word);
    expect(result.globs.get(index)).toBe(pattern);
    expect(result.globs.size).toBe(1);
  });

  it.each(refused)('refuses %s', (_name, command, reason) => {
    const result = tokenize(command);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('accepts exactly 64 KiB', () => {
    const command = `cat ${'abcdefghijklmnopqrstuvwxyz/ '.repeat(2300)}`.padEnd(64 * 1024, 'x');
    expect(tokenize(command).ok).toBe(true);
  });
});

/**
 * The installed shell-quote's behaviours that the strict tokenizer exists to guard against.
 * If an upgrade changes one of them, this fails and the cross-check deserves a fresh look.
 */
describe('shell-quote, as installed', () => {
  it('expands $VAR to an empty string without an env callback', () => {
    expect(shellQuoteParse('cat $HOME/.ssh')).toEqual(['cat', '/.ssh']);
  });
  it("decodes ANSI-C quoting silently: $'\\x2e\\x2e' becomes ..", () => {
    expect(shellQuoteParse("cat $'\\x2e\\x2e/etc'")).toEqual(['cat', '../etc']);
  });
  it('treats a no-break space as a word separator', () => {
    expect(shellQuoteParse('rsync\u00a0--server')).toEqual(['rsync', '--server']);
  });
  it('returns operators and globs as objects', () => {
    expect(shellQuoteParse('ls; id')).toEqual(['ls', { op: ';' }, 'id']);
    expect(shellQuoteParse('cat *.gz')).toEqual(['cat', { op: 'glob', pattern: '*.gz' }]);
  });
  it('loses the escape of \\* (an escaped glob comes back as a glob)', () => {
    expect(shellQuoteParse('cat \\*.gz')).toEqual(['cat', { op: 'glob', pattern: '*.gz' }]);
  });
  it('reads # inside a word as a comment, where sh reads one word', () => {
    expect(shellQuoteParse('cat a#b')).toEqual(['cat', 'a', { comment: 'b' }]);
  });
  it('keeps an unterminated quote', () => {
    expect(shellQuoteParse('cat "abc')).toEqual(['cat', 'abc']);
  });
});
