/**
 * What a program can be made to do by its words, by basename: a path or a version suffix
 * (`/usr/bin/python3.11`, `perl5.36`) changes nothing about it. One list for `check` (lint.ts) and
 * `suggest`, so that what check calls UNSAFE is never what suggest proposes.
 */

export type ProgramKind = 'shell' | 'interpreter' | 'as-another-user' | 'runs-others' | 'rsync' | 'file-server';

const KINDS: [ProgramKind, RegExp][] = [
  ['shell', /^(?:sh|bash|rbash|dash|ash|zsh|ksh|ksh93|mksh|pdksh|oksh|csh|tcsh|fish|yash|posh|busybox|toybox|screen|tmux|script)$/],
  [
    'interpreter',
    /^(?:python[0-9.]*(?:-[\w.-]+)?|pypy[0-9.]*|perl[0-9.]*(?:-[\w.-]+)?|ruby[0-9.]*(?:-[\w.-]+)?|irb|jruby|node(?:js)?|deno|bun|php[0-9.]*|lua[0-9.]*|luajit|tclsh[0-9.]*|wish[0-9.]*|expect|awk|gawk|mawk|nawk|guile[0-9.]*|Rscript|R|julia|pwsh|jshell|groovy|scala|sbcl|clisp|racket|ocaml|gdb|vim?|vim\.[a-z]+|view|rview|rvim|ex|nvim|emacs|ed|sed|make|gmake|m4|sqlite3|psql|mysql|mariadb|ld\.so|ld-linux[\w.-]*)$/,
  ],
  ['as-another-user', /^(?:sudo|su|doas|pkexec|runuser|setpriv|sg|newgrp|chroot|nsenter|unshare)$/],
  [
    'runs-others',
    /^(?:env|nohup|nice|ionice|xargs|timeout|stdbuf|setsid|flock|watch|time|strace|ltrace|valgrind|find|git|ssh|socat|nc|ncat|netcat|parallel)$/,
  ],
  ['rsync', /^(?:open)?rsync/],
  ['file-server', /^(?:internal-sftp|.*sftp-server|scp)$/],
];

export function programKind(program: string): ProgramKind | null {
  const name = program.split('/').pop() ?? program;
  return KINDS.find(([, pattern]) => pattern.test(name))?.[0] ?? null;
}

/**
 * Programs that read or write the files their words name (contents, not only names or sizes):
 * given a word that can be any path, a stolen key reads /etc/shadow or writes /etc/cron.d.
 */
const FILE_PROGRAMS = new Set([
  'cat',
  'tac',
  'head',
  'tail',
  'less',
  'more',
  'most',
  'nl',
  'od',
  'hexdump',
  'xxd',
  'strings',
  'base64',
  'base32',
  'cut',
  'paste',
  'sort',
  'uniq',
  'grep',
  'egrep',
  'fgrep',
  'rg',
  'zcat',
  'zgrep',
  'zless',
  'bzcat',
  'xzcat',
  'zstdcat',
  'gzip',
  'gunzip',
  'bzip2',
  'bunzip2',
  'xz',
  'unxz',
  'zstd',
  'tar',
  'zip',
  'unzip',
  'cpio',
  '7z',
  'cp',
  'mv',
  'rm',
  'ln',
  'dd',
  'tee',
  'touch',
  'truncate',
  'install',
  'shred',
  'split',
  'csplit',
  'chmod',
  'chown',
  'chgrp',
  'chattr',
  'setfacl',
  'mkdir',
  'rmdir',
  'diff',
  'cmp',
  'comm',
  'md5sum',
  'sha1sum',
  'sha256sum',
  'sha512sum',
  'b2sum',
  'cksum',
  'gpg',
  'openssl',
  'jq',
  'yq',
  'sqlite3',
  'file',
  'wc',
  'sed',
  'awk',
  'gawk',
  'mawk',
  'vi',
  'vim',
  'nano',
  'ed',
  'rsync',
  'scp',
  'curl',
  'wget',
  'patch',
  'ar',
  'pax',
  'bsdtar',
  'unrar',
  'lzip',
  'lz4',
  'cmp',
]);

/**
 * Programs that write files at paths their input chooses, not their words: a patch, an archive.
 * Where they run is what they can write: a rule for them is a write rule into its cwd.
 */
const EXTRACTORS = new Set(['patch', 'tar', 'bsdtar', 'cpio', 'pax', 'unzip', '7z', '7za', 'ar', 'unrar', 'rpm2cpio', 'dpkg-deb']);

/** Programs that write, replace or remove every path their words name. */
const WRITE_EVERY_WORD = new Set([
  'tee',
  'touch',
  'truncate',
  'shred',
  'mkdir',
  'rm',
  'rmdir',
  'chmod',
  'chown',
  'chgrp',
  'chattr',
  'setfacl',
  'gzip',
  'gunzip',
  'bzip2',
  'bunzip2',
  'xz',
  'unxz',
  'zstd',
]);
/** Programs whose last word is where they write (the others are read). */
const WRITE_LAST_WORD = new Set(['cp', 'mv', 'install', 'ln']);
/** Programs that write only where an option says: `of=` (dd), `-o`/`--output=` (sort). */
const WRITE_OPTION = /^(?:of=|-o|--output=)/;

/** The words of a command that name paths the program writes, replaces or removes. */
export function writtenWords(program: string, words: readonly string[]): string[] {
  const name = program.split('/').pop() ?? program;
  if (WRITE_EVERY_WORD.has(name)) return [...words];
  if (WRITE_LAST_WORD.has(name)) return words.slice(-1);
  if (name === 'dd' || name === 'sort') return words.filter((word) => WRITE_OPTION.test(word));
  return [];
}

export function writesWhereItsInputSays(program: string): boolean {
  return EXTRACTORS.has(program.split('/').pop() ?? program);
}

export function readsOrWritesFiles(program: string): boolean {
  const name = program.split('/').pop() ?? program;
  return FILE_PROGRAMS.has(name) || programKind(program) !== null;
}
