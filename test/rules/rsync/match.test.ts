/**
 * rsync rules, one row per sentence: "under rule R, the client line C is allowed and runs argv
 * A" or "is refused for reason D, naming N". Rules differ in access mode, delete, overwrite,
 * root and metadata; every gate of the option table has rows both ways.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import type { RsyncFeatures } from '../../../src/rules/rsync/features.js';
import { execPlan, policyFrom, requestFor } from '../../helpers.js';

const ROOT = '/srv/backup/host1';
const policy = policyFrom(`
version: 1
identities:
  w:   { rules: [ { name: push, rsync: { root: ${ROOT}, access: write } } ] }
  wd:  { rules: [ { name: mirror, rsync: { root: ${ROOT}, access: write, delete: true, max-delete: 100 } } ] }
  r:   { rules: [ { name: pull, rsync: { root: ${ROOT}, access: read } } ] }
  rw:  { rules: [ { name: both, rsync: { root: ${ROOT}, access: read-write } } ] }
  no:  { rules: [ { name: append-only, rsync: { root: ${ROOT}, access: write, overwrite: false } } ] }
  snap: { rules: [ { name: nightly, rsync: { root: ${ROOT}, access: write, snapshot: true } } ] }
  sys: { rules: [ { name: system, rsync: { root: /, access: read-write, delete: true, xattrs: true, acls: true, devices: true } } ] }
  raw: { rules: [ { name: plain, rsync: { root: ${ROOT}, access: write, munge-links: false } } ] }
  abs: { rules: [ { name: absolute, rsync: { root: ${ROOT}, access: write, absolute-paths: true } } ] }
  two:
    rules:
      - { name: logs, rsync: { root: /var/log/app, access: read } }
      - { name: uploads, rsync: { root: /srv/incoming, access: write } }
`);

const V35: RsyncFeatures = { version: '3.5.0', confineRoot: true, dropD: true };
const V32: RsyncFeatures = { version: '3.2.7', confineRoot: false, dropD: false };
const facts = (features: RsyncFeatures) => ({ rsync: new Map([['/usr/bin/rsync', features]]) });

const B = '-logDtpre.iLsfxCIvu';
/** What a write-only push gets imposed: no basis sums for the client, and nothing deleted. */
const WRITE_ONLY = ['--whole-file', '--max-delete=0'];
/** What every supervised push adds: rsync's own log of what it changed, on the dispatcher's pipe. */
const REPORT = ['--log-file=/proc/self/fd/3', '--log-file-format=explain %i %l %n', '--filter=P /.ssh-dispatch-report-explain'];
const PUSH_TAIL = ['--munge-links', '--drop-D', `--confine-root=${ROOT}`, ...WRITE_ONLY, ...REPORT, '--', '.'];
/** A read-write push may use deltas (it could read the file anyway); deletions are still capped. */
const RW_PUSH_TAIL = ['--munge-links', '--drop-D', `--confine-root=${ROOT}`, '--max-delete=0', ...REPORT, '--', '.'];
const PULL_TAIL = ['--munge-links', `--confine-root=${ROOT}`, '--', '.'];
const push =
  (...middle: string[]) =>
  (dest: string) => ['/usr/bin/rsync', '--server', B, ...middle, ...PUSH_TAIL, dest];
const pull =
  (...middle: string[]) =>
  (...sources: string[]) => ['/usr/bin/rsync', '--server', '--sender', B, ...middle, ...PULL_TAIL, ...sources];

type Row = { id: string; command: string } & ({ argv: string[] } | { deny: string; naming?: string });

const rows: Row[] = [
  // --- what real clients send, allowed
  { id: 'w', command: `rsync --server ${B} . dst/`, argv: push()('dst/') },
  {
    id: 'w',
    command: 'rsync --server -logDtprze.iLsfxCIvu . dst/',
    argv: ['/usr/bin/rsync', '--server', '-logDtprze.iLsfxCIvu', ...PUSH_TAIL, 'dst/'],
  },
  { id: 'w', command: 'rsync --server -logDtprce.iLsfxCIvu . dst/', deny: 'rsync-option-refused', naming: 'contents of stored files' },
  {
    id: 'rw',
    command: 'rsync --server -logDtprce.iLsfxCIvu . dst/',
    argv: ['/usr/bin/rsync', '--server', '-logDtprce.iLsfxCIvu', ...RW_PUSH_TAIL, 'dst/'],
  },
  {
    id: 'w',
    command: 'rsync --server -nlogDtpre.iLsfxCIvu . dst/',
    argv: ['/usr/bin/rsync', '--server', '-nlogDtpre.iLsfxCIvu', ...PUSH_TAIL, 'dst/'],
  },
  {
    id: 'w',
    command: 'rsync --server -vvlogDtpre.iLsfxCIvu --stats . dst/',
    argv: ['/usr/bin/rsync', '--server', '-vvlogDtpre.iLsfxCIvu', '--stats', ...PUSH_TAIL, 'dst/'],
  },
  { id: 'w', command: 'rsync --server -e.iLsfxCIvu . dst/', argv: ['/usr/bin/rsync', '--server', '-e.iLsfxCIvu', ...PUSH_TAIL, 'dst/'] },
  { id: 'w', command: 'rsync --server -logDtpr . dst/', argv: ['/usr/bin/rsync', '--server', '-logDtpr', ...PUSH_TAIL, 'dst/'] },
  {
    id: 'w',
    command: 'rsync --server -logDtpre32.0iLsfxCIvu . dst/',
    argv: ['/usr/bin/rsync', '--server', '-logDtpre32.0iLsfxCIvu', ...PUSH_TAIL, 'dst/'],
  },
  { id: 'w', command: `rsync --server ${B} --log-format=X --partial . dst/`, argv: push('--log-format=X', '--partial')('dst/') },
  // --inplace and --append write into the stored inode, which every snapshot that links it shares.
  { id: 'w', command: `rsync --server ${B} --inplace . dst/`, deny: 'rsync-option-refused', naming: 'every hard link to it' },
  { id: 'w', command: `rsync --server ${B} --append --append . dst/`, deny: 'rsync-option-refused', naming: '--append' },
  { id: 'rw', command: `rsync --server ${B} --append --append . dst/`, deny: 'rsync-option-refused', naming: 'every hard link to it' },
  {
    id: 'w',
    command: `rsync --server ${B} -B4096 --timeout=30 --bwlimit=1024 . dst/`,
    argv: push('-B4096', '--timeout=30', '--bwlimit=1024')('dst/'),
  },
  { id: 'w', command: `rsync --server ${B} -@-1 . dst/`, argv: push('-@-1')('dst/') },
  { id: 'w', command: `rsync --server ${B} --min-size=1 --max-size=51200 . dst/`, argv: push('--min-size=1', '--max-size=51200')('dst/') },
  {
    id: 'w',
    command: `rsync --server ${B} --compress-level=3 --checksum-choice=xxh128 --compress-choice=zstd . dst/`,
    argv: push('--compress-level=3', '--checksum-choice=xxh128', '--compress-choice=zstd')('dst/'),
  },
  { id: 'w', command: `rsync --server ${B} --iconv=latin1 . dst/`, argv: push('--iconv=latin1')('dst/') },
  {
    id: 'w',
    command: `rsync --server ${B} --usermap=\\*:a --groupmap=\\*:b . dst/`,
    argv: push('--usermap=*:a', '--groupmap=*:b')('dst/'),
  },
  {
    id: 'w',
    command: `rsync --server ${B} --fsync --preallocate --open-noatime . dst/`,
    argv: push('--fsync', '--preallocate', '--open-noatime')('dst/'),
  },
  { id: 'w', command: `rsync --server ${B} --mkpath . new/path/`, argv: push('--mkpath')('new/path/') },
  { id: 'w', command: `rsync --server ${B} --ignore-existing --existing . dst/`, argv: push('--ignore-existing', '--existing')('dst/') },
  { id: 'w', command: `rsync --server ${B} --numeric-ids --no-specials . dst/`, argv: push('--numeric-ids', '--no-specials')('dst/') },
  { id: 'w', command: 'rsync --server -logDtprSe.iLsfxCIvu --no-W . dst/', deny: 'rsync-option-refused', naming: '--no-W' },
  {
    id: 'rw',
    command: 'rsync --server -logDtprSe.iLsfxCIvu --no-W . dst/',
    argv: ['/usr/bin/rsync', '--server', '-logDtprSe.iLsfxCIvu', '--no-W', ...RW_PUSH_TAIL, 'dst/'],
  },
  { id: 'rw', command: 'rsync --server -logDtprSe.iLsfxCIvu --inplace --no-W . dst/', deny: 'rsync-option-refused', naming: '--inplace' },
  { id: 'w', command: 'rsync --server -logDtpryye.iLsfxCIvu . dst/', deny: 'rsync-option-refused', naming: 'stored files' },
  { id: 'w', command: `rsync --server ${B} --fuzzy . dst/`, deny: 'rsync-option-refused', naming: '--fuzzy' },
  { id: 'w', command: `rsync --server ${B} --checksum . dst/`, deny: 'rsync-option-refused', naming: '--checksum' },
  { id: 'w', command: `rsync --server ${B} -B1 . dst/`, argv: push('-B1')('dst/') }, // harmless: --whole-file sends no sums of any block size
  {
    id: 'rw',
    command: 'rsync --server -logDtpryye.iLsfxCIvu . dst/',
    argv: ['/usr/bin/rsync', '--server', '-logDtpryye.iLsfxCIvu', ...RW_PUSH_TAIL, 'dst/'],
  },
  {
    id: 'r',
    command: 'rsync --server --sender -logDtprce.iLsfxCIvu . src/',
    argv: ['/usr/bin/rsync', '--server', '--sender', '-logDtprce.iLsfxCIvu', ...PULL_TAIL, 'src/'],
  },
  { id: 'w', command: `rsync --server ${B} . dst\\ 5/`, argv: push()('dst 5/') },
  { id: 'w', command: `rsync --server ${B} . ./-rf`, argv: push()('./-rf') },
  { id: 'w', command: `rsync --server ${B} . -rf`, argv: push()('-rf') },
  { id: 'w', command: `/usr/bin/rsync --server ${B} . dst/`, argv: push()('dst/') },
  // a leading "/" means root: host:/ and host: land in root itself
  { id: 'w', command: `rsync --server ${B} . /`, argv: push()('.') },
  { id: 'w', command: `rsync --server ${B} . .`, argv: push()('.') },
  { id: 'w', command: `rsync --server ${B} . /srv/backup/host1/x/`, argv: push()('srv/backup/host1/x/') },
  { id: 'w', command: `rsync --server ${B} . //a//b/`, argv: push()('a//b/') },
  // incrementals: basis dirs relative to the destination, root-anchored ones rewritten under root
  {
    id: 'w',
    command: `rsync --server ${B} --copy-dest ../2026-11-23 . 2026-11-24/`,
    argv: push('--copy-dest', '../2026-11-23')('2026-11-24/'),
  },
  {
    id: 'w',
    command: `rsync --server ${B} --copy-dest=../2026-11-23 . 2026-11-24/`,
    argv: push(`--copy-dest=../2026-11-23`)('2026-11-24/'),
  },
  {
    id: 'w',
    command: `rsync --server ${B} --copy-dest /snap/prev --copy-dest ../p2 . cur/`,
    argv: push('--copy-dest', `${ROOT}/snap/prev`, '--copy-dest', '../p2')('cur/'),
  },
  {
    id: 'w',
    command: `rsync --server ${B} --compare-dest ../a --copy-dest ../b . daily/d1/`,
    argv: push('--compare-dest', '../a', '--copy-dest', '../b')('daily/d1/'),
  },
  // rsnapshot: daily.0 with --link-dest=../daily.1
  {
    id: 'w',
    command: `rsync --server ${B} --delete-excluded --link-dest=../daily.1 . daily.0/`,
    deny: 'rsync-option-refused',
    naming: '--delete-excluded',
  },
  {
    id: 'wd',
    command: `rsync --server ${B} --delete --delete-excluded --copy-dest=../daily.1 . daily.0/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--delete',
      '--delete-excluded',
      '--copy-dest=../daily.1',
      ...PUSH_TAIL.slice(0, 4),
      '--max-delete=100',
      ...REPORT,
      '--',
      '.',
      'daily.0/',
    ],
  },
  // --link-dest hard-links stored files into the destination: only snapshot: true takes it (found in review).
  {
    id: 'wd',
    command: `rsync --server ${B} --delete --delete-excluded --link-dest=../daily.1 . daily.0/`,
    deny: 'rsync-option-refused',
    naming: 'snapshot: true',
  },
  {
    id: 'w',
    command: `rsync --server ${B} --link-dest ../2026-11-23 . 2026-11-24/`,
    deny: 'rsync-option-refused',
    naming: 'snapshot: true',
  },
  {
    id: 'rw',
    command: `rsync --server ${B} --link-dest ../2026-11-23 . 2026-11-24/`,
    deny: 'rsync-option-refused',
    naming: 'snapshot: true',
  },
  // -U sets access times on a file rsync hard-linked: the inode a snapshot shares. Pulls keep it.
  {
    id: 'snap',
    command: `rsync --server -logDtpUre.iLsfxCIvu --link-dest ../2026-12-05 . 2026-12-06/`,
    deny: 'rsync-option-refused',
    naming: 'access time',
  },
  { id: 'w', command: `rsync --server ${B} --atimes . dst/`, deny: 'rsync-option-refused', naming: 'access time' },
  {
    id: 'r',
    command: `rsync --server --sender -logDtpUre.iLsfxCIvu . src/`,
    argv: ['/usr/bin/rsync', '--server', '--sender', '-logDtpUre.iLsfxCIvu', ...PULL_TAIL, 'src/'],
  },
  { id: 'w', command: `rsync --server ${B} --temp-dir /tmp-in-root . dst/`, argv: push('--temp-dir', `${ROOT}/tmp-in-root`)('dst/') },
  {
    id: 'w',
    command: `rsync --server -blogDtpre.iLsfxCIvu --backup-dir ../old --suffix=.bak . dst/`,
    argv: ['/usr/bin/rsync', '--server', '-blogDtpre.iLsfxCIvu', '--backup-dir', '../old', '--suffix=.bak', ...PUSH_TAIL, 'dst/'],
  },
  // a partial dir's files are taken as the basis and then deleted: a route to deletion
  { id: 'w', command: `rsync --server ${B} --partial-dir .partial . dst/`, deny: 'rsync-option-refused', naming: 'delete: false' },
  { id: 'w', command: `rsync --server ${B} --delay-updates . dst/`, deny: 'rsync-option-refused', naming: 'delete: false' },
  {
    id: 'wd',
    command: `rsync --server ${B} --partial-dir .partial --delay-updates . dst/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--partial-dir',
      '.partial',
      '--delay-updates',
      ...PUSH_TAIL.slice(0, 4),
      '--max-delete=100',
      ...REPORT,
      '--',
      '.',
      'dst/',
    ],
  },
  {
    id: 'wd',
    command: `rsync --server ${B} --partial-dir /partials . dst/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--partial-dir',
      `${ROOT}/partials`,
      ...PUSH_TAIL.slice(0, 4),
      '--max-delete=100',
      ...REPORT,
      '--',
      '.',
      'dst/',
    ],
  },
  // a pushed file taking the name of a stored directory deletes the tree under --force
  { id: 'w', command: `rsync --server ${B} --force . dst/`, deny: 'rsync-option-refused', naming: '--force' },
  {
    id: 'wd',
    command: `rsync --server ${B} --force . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, '--force', ...PUSH_TAIL.slice(0, 4), '--max-delete=100', ...REPORT, '--', '.', 'dst/'],
  },

  // --- pulls
  { id: 'r', command: `rsync --server --sender ${B} . src/`, argv: pull()('src/') },
  { id: 'r', command: `rsync --server --sender ${B} . src/a src/sub`, argv: pull()('src/a', 'src/sub') },
  { id: 'r', command: `rsync --server --sender ${B} . /`, argv: pull()('.') },
  {
    id: 'r',
    command: 'rsync --server --sender -logDtprRe.iLsfxCIvu . /srv/./a/b',
    argv: ['/usr/bin/rsync', '--server', '--sender', '-logDtprRe.iLsfxCIvu', ...PULL_TAIL, 'srv/./a/b'],
  },
  {
    id: 'r',
    command: 'rsync --server --sender -logDtpRe.LsfxCIvu --files-from list.txt . src/',
    argv: ['/usr/bin/rsync', '--server', '--sender', '-logDtpRe.LsfxCIvu', '--files-from', `${ROOT}/list.txt`, ...PULL_TAIL, 'src/'],
  },
  { id: 'r', command: `rsync --server --sender ${B} --files-from=- --from0 . src/`, argv: pull('--files-from=-', '--from0')('src/') },
  { id: 'r', command: `rsync --server --sender ${B} --ignore-missing-args . src/a`, argv: pull('--ignore-missing-args')('src/a') },
  {
    id: 'r',
    command: `rsync --server --sender -lyogDtpre.iLsfxCIvu . src/`,
    argv: ['/usr/bin/rsync', '--server', '--sender', '-lyogDtpre.iLsfxCIvu', ...PULL_TAIL, 'src/'],
  },
  { id: 'rw', command: `rsync --server ${B} . dst/`, argv: ['/usr/bin/rsync', '--server', B, ...RW_PUSH_TAIL, 'dst/'] },
  { id: 'rw', command: `rsync --server --sender ${B} . src/`, argv: pull()('src/') },

  // --- direction
  { id: 'w', command: `rsync --server --sender ${B} . src/`, deny: 'rsync-direction-refused' },
  { id: 'r', command: `rsync --server ${B} . dst/`, deny: 'rsync-direction-refused' },
  { id: 'w', command: `rsync --server ${B} --sender . src/`, deny: 'rsync-bad-syntax', naming: '--sender' },
  { id: 'w', command: `rsync --server ${B} . --sender`, argv: push()('--sender') }, // an operand named --sender is only a name, behind "--"
  { id: 'r', command: `rsync --server --sender ${B} --backup-dir x . src/`, deny: 'rsync-option-refused', naming: 'only on a push' },
  { id: 'r', command: `rsync --server --sender ${B} --delete . src/`, deny: 'rsync-option-refused', naming: '--delete' },

  // --- structure
  { id: 'w', command: `rsync ${B} . dst/`, deny: 'rsync-not-server' },
  { id: 'w', command: `rsync -e 'sh -c id' x:y .`, deny: 'rsync-not-server' },
  { id: 'w', command: `rsync /etc/shadow /srv/backup/host1/`, deny: 'rsync-not-server' },
  { id: 'w', command: `rsync --server --server ${B} . dst/`, deny: 'rsync-bad-syntax' },
  { id: 'w', command: `rsync --server ${B} dst/`, deny: 'rsync-bad-syntax' },
  { id: 'w', command: 'rsync --server -slogDtpre.iLsfxCIvu', deny: 'rsync-option-refused', naming: '-s' },
  { id: 'w', command: `rsync --server ${B} .`, deny: 'rsync-bad-syntax', naming: 'not 1' },
  { id: 'w', command: `rsync --server ${B} . dst 5/`, deny: 'rsync-bad-syntax', naming: 'not 1' },
  { id: 'r', command: `rsync --server --sender ${B} .`, deny: 'rsync-bad-syntax', naming: 'no path' },
  { id: 'w', command: `rsync --server ${B} -- . dst/`, deny: 'rsync-bad-syntax' },
  { id: 'w', command: `rsync --server ${B} extra . dst/`, deny: 'rsync-bad-syntax' },
  { id: 'w', command: `sudo rsync --server ${B} . dst/`, argv: push()('dst/') }, // a spelling: sudo is not run (test/rules/spelling.test.ts)
  { id: 'w', command: `/tmp/rsync --server ${B} . dst/`, argv: push()('dst/') }, // the client's spelling is ignored: the rule's rsync runs
  { id: 'w', command: `rsync.sh --server ${B} . dst/`, deny: 'no-rule-matched' },

  // --- refused always, every form
  { id: 'w', command: `rsync --server ${B} --rsh=sh . dst/`, deny: 'rsync-option-refused', naming: '--rsh' },
  { id: 'w', command: `rsync --server ${B} --rsh sh . dst/`, deny: 'rsync-option-refused', naming: '--rsh' },
  { id: 'w', command: `rsync --server -e sh . dst/`, deny: 'rsync-option-refused', naming: '-e' },
  { id: 'w', command: `rsync --server -esh . dst/`, deny: 'rsync-option-refused', naming: '-e' },
  {
    id: 'w',
    command: `rsync --server -logDtpre.iLsfxCIvu -e.x . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, '-e.x', ...PUSH_TAIL, 'dst/'],
  },
  {
    id: 'w',
    command: `rsync --server -logDtpre.iLsfxCIvuz . dst/`,
    argv: ['/usr/bin/rsync', '--server', '-logDtpre.iLsfxCIvuz', ...PUSH_TAIL, 'dst/'],
  }, // letters after e are capabilities, not options
  { id: 'w', command: `rsync --server -logDtpre.iLs/x . dst/`, deny: 'rsync-option-refused', naming: '-e' },
  { id: 'w', command: `rsync --server ${B} --rsync-path=/tmp/x . dst/`, deny: 'rsync-option-refused', naming: '--rsync-path' },
  { id: 'w', command: `rsync --server ${B} --daemon . dst/`, deny: 'rsync-option-refused', naming: '--daemon' },
  { id: 'w', command: `rsync --server ${B} --config=/tmp/c . dst/`, deny: 'rsync-option-refused', naming: '--config' },
  { id: 'w', command: `rsync --server -M--log-file=x . dst/`, deny: 'rsync-option-refused', naming: '-M' },
  {
    id: 'w',
    command: `rsync --server ${B} --log-file=/root/.ssh/authorized_keys . dst/`,
    deny: 'rsync-option-refused',
    naming: '--log-file',
  },
  {
    id: 'w',
    command: `rsync --server ${B} --log-file /root/.ssh/authorized_keys . dst/`,
    deny: 'rsync-option-refused',
    naming: '--log-file',
  },
  { id: 'w', command: `rsync --server ${B} --write-devices . dst/`, deny: 'rsync-option-refused', naming: '--write-devices' },
  { id: 'r', command: `rsync --server --sender ${B} --copy-devices . src/`, deny: 'rsync-option-refused', naming: '--copy-devices' },
  { id: 'w', command: `rsync --server ${B} --debug=ALL . dst/`, deny: 'rsync-option-refused', naming: '--debug' },
  { id: 'w', command: `rsync --server ${B} --no-munge-links . dst/`, deny: 'rsync-option-refused', naming: '--no-munge-links' },
  { id: 'w', command: `rsync --server ${B} --insecure-links . dst/`, deny: 'rsync-option-refused', naming: '--insecure-links' },
  { id: 'w', command: `rsync --server ${B} --confine-root=/ . dst/`, deny: 'rsync-option-refused', naming: '--confine-root' },
  { id: 'w', command: `rsync --server ${B} --copy-as=root . dst/`, deny: 'rsync-option-refused', naming: '--copy-as' },
  { id: 'w', command: `rsync --server ${B} --trust-sender . dst/`, deny: 'rsync-option-refused', naming: '--trust-sender' },
  { id: 'w', command: `rsync --server ${B} --only-write-batch=X . dst/`, deny: 'rsync-option-refused', naming: '--only-write-batch' },
  { id: 'w', command: `rsync --server ${B} --exclude-from=/etc/shadow . dst/`, deny: 'rsync-option-refused', naming: '--exclude-from' },
  { id: 'w', command: `rsync --server ${B} --filter=merge\\ /etc/shadow . dst/`, deny: 'rsync-option-refused', naming: '--filter' },
  { id: 'w', command: `rsync --server ${B} --secluded-args . dst/`, deny: 'rsync-option-refused', naming: '--secluded-args' },
  { id: 'w', command: `rsync --server ${B} --max-alloc=0 . dst/`, deny: 'rsync-option-refused', naming: '--max-alloc=0' },
  { id: 'w', command: `rsync --server ${B} --max-alloc=8G . dst/`, argv: push('--max-alloc=8G')('dst/') },
  { id: 'w', command: `rsync --server ${B} --max-alloc=1M . dst/`, argv: push('--max-alloc=1M')('dst/') },
  // what rsync's parse_size_arg makes 0 (unlimited), however it is spelt
  { id: 'w', command: `rsync --server ${B} --max-alloc=1-1 . dst/`, deny: 'rsync-option-refused', naming: 'disables the allocation cap' },
  { id: 'w', command: `rsync --server ${B} --max-alloc=1b-1 . dst/`, deny: 'rsync-option-refused', naming: 'disables the allocation cap' },
  {
    id: 'w',
    command: `rsync --server ${B} --max-alloc=0.000001k . dst/`,
    deny: 'rsync-option-refused',
    naming: 'disables the allocation cap',
  },
  {
    id: 'w',
    command: `rsync --server ${B} --max-alloc=0.0009k . dst/`,
    deny: 'rsync-option-refused',
    naming: 'disables the allocation cap',
  },
  { id: 'w', command: `rsync --server ${B} --max-alloc=0K . dst/`, deny: 'rsync-option-refused', naming: 'disables the allocation cap' },
  { id: 'w', command: `rsync --server ${B} --max-alloc=512k . dst/`, deny: 'rsync-option-refused', naming: 'not a size rsync accepts' },
  { id: 'w', command: `rsync --server ${B} --chmod=u+s . dst/`, deny: 'rsync-option-refused', naming: '--chmod' },
  { id: 'w', command: `rsync --server ${B} --version . dst/`, deny: 'rsync-option-refused', naming: '--version' },
  { id: 'w', command: `rsync --server ${B} --no-such-option . dst/`, deny: 'rsync-option-unknown', naming: '--no-such-option' },
  { id: 'w', command: `rsync --server ${B} --del . dst/`, deny: 'rsync-option-unknown', naming: '--del' },
  { id: 'w', command: `rsync --server ${B} --delete-aft . dst/`, deny: 'rsync-option-unknown', naming: '--delete-aft' }, // popt takes no abbreviations; neither do we
  { id: 'w', command: `rsync --server -logDtprQe.iLsfxCIvu . dst/`, deny: 'rsync-option-unknown', naming: '-Q' },
  { id: 'w', command: `rsync --server ${B} --delete=yes . dst/`, deny: 'rsync-option-refused', naming: 'takes no value' },
  { id: 'w', command: `rsync --server ${B} --bwlimit=99999999999999999999 . dst/`, deny: 'rsync-option-refused', naming: '--bwlimit' },
  { id: 'w', command: `rsync --server ${B} --timeout=-1 . dst/`, deny: 'rsync-option-refused', naming: '--timeout' },
  { id: 'w', command: `rsync --server ${B} -Bx . dst/`, deny: 'rsync-option-refused', naming: '-Bx' },
  { id: 'w', command: `rsync --server ${B} --suffix=/x . dst/`, deny: 'rsync-option-refused', naming: '--suffix' },
  { id: 'w', command: `rsync --server ${B} --log-format=%f%L . dst/`, deny: 'rsync-option-refused', naming: '--log-format' },
  { id: 'w', command: `rsync --server ${B} --info=progress2 . dst/`, argv: push('--info=progress2')('dst/') },
  { id: 'w', command: `rsync --server ${B} --info=a/b . dst/`, deny: 'rsync-option-refused', naming: '--info' },
  { id: 'w', command: `rsync --server ${B} --link-dest . dst/`, deny: 'rsync-bad-syntax', naming: '--link-dest has no value' },

  // --- delete gate
  { id: 'w', command: `rsync --server ${B} --delete . dst/`, deny: 'rsync-option-refused', naming: '--delete' },
  { id: 'w', command: `rsync --server ${B} --delete-after . dst/`, deny: 'rsync-option-refused', naming: '--delete-after' },
  { id: 'w', command: `rsync --server ${B} --delete-before . dst/`, deny: 'rsync-option-refused', naming: '--delete-before' },
  { id: 'w', command: `rsync --server ${B} --delete-during . dst/`, deny: 'rsync-option-refused', naming: '--delete-during' },
  { id: 'w', command: `rsync --server ${B} --delete-delay . dst/`, deny: 'rsync-option-refused', naming: '--delete-delay' },
  { id: 'w', command: `rsync --server ${B} --delete-missing-args . dst/`, deny: 'rsync-option-refused', naming: '--delete-missing-args' },
  { id: 'w', command: `rsync --server ${B} --remove-source-files . dst/`, deny: 'rsync-option-refused', naming: '--remove-source-files' },
  {
    id: 'r',
    command: `rsync --server --sender ${B} --remove-source-files . src/`,
    deny: 'rsync-option-refused',
    naming: '--remove-source-files',
  },
  {
    id: 'r',
    command: `rsync --server --sender ${B} --remove-sent-files . src/`,
    deny: 'rsync-option-refused',
    naming: '--remove-sent-files',
  },
  {
    id: 'wd',
    command: `rsync --server ${B} --delete . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, '--delete', ...PUSH_TAIL.slice(0, 4), '--max-delete=100', ...REPORT, '--', '.', 'dst/'],
  },
  {
    id: 'wd',
    command: `rsync --server ${B} . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, ...PUSH_TAIL.slice(0, 4), '--max-delete=100', ...REPORT, '--', '.', 'dst/'],
  }, // capped even when no --delete is asked for
  {
    id: 'wd',
    command: `rsync --server ${B} --max-delete=-1 --delete . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, '--max-delete=-1', '--delete', ...PUSH_TAIL, 'dst/'],
  },
  {
    id: 'wd',
    command: `rsync --server ${B} --max-delete=5 --delete . dst/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--max-delete=5',
      '--delete',
      ...PUSH_TAIL.slice(0, 4),
      '--max-delete=5',
      ...REPORT,
      '--',
      '.',
      'dst/',
    ],
  },
  {
    id: 'wd',
    command: `rsync --server ${B} --max-delete=5000 --delete . dst/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--max-delete=5000',
      '--delete',
      ...PUSH_TAIL.slice(0, 4),
      '--max-delete=100',
      ...REPORT,
      '--',
      '.',
      'dst/',
    ],
  },

  // --- overwrite gate (rrsync -no-overwrite)
  // --- snapshot: true: one new directory directly under root, and nothing else
  {
    id: 'snap',
    command: `rsync --server ${B} . 2026-12-06/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      ...PUSH_TAIL.slice(0, 3),
      '--ignore-existing',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      '2026-12-06/',
    ],
  },
  {
    id: 'snap',
    command: `rsync --server ${B} --link-dest ../2026-12-05 . 2026-12-06/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--link-dest',
      '../2026-12-05',
      ...PUSH_TAIL.slice(0, 3),
      '--ignore-existing',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      '2026-12-06/',
    ],
  },
  {
    id: 'snap',
    command: `rsync --server ${B} --link-dest=/2026-12-05 . /2026-12-06/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      `--link-dest=${ROOT}/2026-12-05`,
      ...PUSH_TAIL.slice(0, 3),
      '--ignore-existing',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      '2026-12-06/',
    ],
  },
  { id: 'snap', command: `rsync --server ${B} . 2026-12-05/etc/`, deny: 'rsync-snapshot-refused', naming: 'one new directory' }, // into an old snapshot
  {
    id: 'snap',
    command: `rsync --server ${B} . dst`,
    argv: ['/usr/bin/rsync', '--server', B, ...PUSH_TAIL.slice(0, 3), '--ignore-existing', ...WRITE_ONLY, ...REPORT, '--', '.', 'dst'],
  },
  { id: 'snap', command: `rsync --server ${B} . ./`, deny: 'rsync-snapshot-refused', naming: 'one new directory' }, // root itself
  { id: 'snap', command: `rsync --server ${B} . /`, deny: 'rsync-snapshot-refused', naming: 'one new directory' },
  { id: 'snap', command: `rsync --server ${B} . .2026-12-06.failed-x/`, deny: 'rsync-snapshot-refused', naming: 'one new directory' }, // where failed pushes are set aside
  {
    id: 'snap',
    command: `rsync --server ${B} --link-dest 2026-12-05 . 2026-12-06/`,
    deny: 'rsync-snapshot-refused',
    naming: 'another snapshot',
  }, // inside the new one
  { id: 'snap', command: `rsync --server ${B} --link-dest .. . 2026-12-06/`, deny: 'rsync-snapshot-refused', naming: 'another snapshot' }, // root
  {
    id: 'snap',
    command: `rsync --server ${B} --link-dest ../2026-12-05/etc . 2026-12-06/`,
    deny: 'rsync-snapshot-refused',
    naming: 'another snapshot',
  },
  {
    id: 'snap',
    command: `rsync --server ${B} --compare-dest ../2026-12-06 . 2026-12-06/`,
    deny: 'rsync-snapshot-refused',
    naming: 'another snapshot',
  }, // itself
  {
    id: 'snap',
    command: `rsync --server ${B} --temp-dir ../tmp . 2026-12-06/`,
    deny: 'rsync-snapshot-refused',
    naming: 'only into its new directory',
  },
  // Deleting inside a directory the push itself made deletes nothing stored: a nightly script's --delete is served.
  {
    id: 'snap',
    command: `rsync --server ${B} --delete --delete-excluded . 2026-12-06/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--delete',
      '--delete-excluded',
      ...PUSH_TAIL.slice(0, 3),
      '--ignore-existing',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      '2026-12-06/',
    ],
  },
  {
    id: 'snap',
    command: `rsync --server ${B} --partial-dir .p . 2026-12-06/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--partial-dir',
      '.p',
      ...PUSH_TAIL.slice(0, 3),
      '--ignore-existing',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      '2026-12-06/',
    ],
  },
  { id: 'snap', command: `rsync --server ${B} --partial-dir ../p . 2026-12-06/`, deny: 'rsync-snapshot-refused', naming: 'plain name' },
  { id: 'snap', command: `rsync --server ${B} --partial-dir /p . 2026-12-06/`, deny: 'rsync-snapshot-refused', naming: 'plain name' },
  { id: 'snap', command: `rsync --server ${B} --inplace . 2026-12-06/`, deny: 'rsync-option-refused', naming: '--inplace' },
  { id: 'snap', command: `rsync --server --sender ${B} . 2026-12-05/`, deny: 'rsync-direction-refused' },
  {
    id: 'no',
    command: `rsync --server ${B} . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, ...PUSH_TAIL.slice(0, 3), '--ignore-existing', ...WRITE_ONLY, ...REPORT, '--', '.', 'dst/'],
  },
  { id: 'no', command: `rsync --server -blogDtpre.iLsfxCIvu . dst/`, deny: 'rsync-option-refused', naming: '-blogDtpre' },
  { id: 'no', command: `rsync --server ${B} --backup-dir x . dst/`, deny: 'rsync-option-refused', naming: '--backup-dir' },
  { id: 'no', command: `rsync --server ${B} --partial-dir .p . dst/`, deny: 'rsync-option-refused', naming: '--partial-dir' },
  { id: 'no', command: `rsync --server ${B} --delay-updates . dst/`, deny: 'rsync-option-refused', naming: '--delay-updates' },
  { id: 'no', command: `rsync --server ${B} --inplace . dst/`, deny: 'rsync-option-refused', naming: '--inplace' },
  { id: 'no', command: `rsync --server ${B} --append . dst/`, deny: 'rsync-option-refused', naming: '--append' },

  // --- symlink-following options, refused unless root is "/"
  { id: 'r', command: `rsync --server --sender -lLogDtpre.iLsfxCIvu . src/`, deny: 'rsync-option-refused', naming: '-lLogDtpre' },
  { id: 'r', command: `rsync --server --sender -lkogDtpre.iLsfxCIvu . src/`, deny: 'rsync-option-refused', naming: '-lkogDtpre' },
  { id: 'w', command: `rsync --server -lKogDtpre.iLsfxCIvu . dst/`, deny: 'rsync-option-refused', naming: '-lKogDtpre' },
  {
    id: 'r',
    command: `rsync --server --sender ${B} --copy-unsafe-links . src/`,
    deny: 'rsync-option-refused',
    naming: '--copy-unsafe-links',
  },
  { id: 'r', command: `rsync --server --sender ${B} --copy-links . src/`, deny: 'rsync-option-refused', naming: '--copy-links' },
  {
    id: 'sys',
    command: `rsync --server --sender -lLogDtpre.iLsfxCIvu . /etc/`,
    argv: ['/usr/bin/rsync', '--server', '--sender', '-lLogDtpre.iLsfxCIvu', '--munge-links', '--', '.', 'etc/'],
  },

  // --- ACLs and xattrs: opt-in
  { id: 'w', command: `rsync --server -lHogDtpAXre.iLsfxCIvu --numeric-ids . dst/`, deny: 'rsync-option-refused', naming: 'ACLs' },
  { id: 'w', command: `rsync --server -lHogDtpXre.iLsfxCIvu . dst/`, deny: 'rsync-option-refused', naming: 'extended attributes' },
  {
    id: 'sys',
    command: `rsync --server -lHogDtpAXre.iLsfxCIvu --numeric-ids --delete . /`,
    argv: ['/usr/bin/rsync', '--server', '-lHogDtpAXre.iLsfxCIvu', '--numeric-ids', '--delete', '--munge-links', ...REPORT, '--', '.', '.'],
  },

  // --- paths that leave root
  { id: 'w', command: `rsync --server ${B} . ../x`, deny: 'rsync-path-escapes-root' },
  { id: 'w', command: `rsync --server ${B} . dst/../../etc`, deny: 'rsync-path-escapes-root' },
  { id: 'w', command: `rsync --server ${B} . a/../b`, deny: 'rsync-path-escapes-root' },
  { id: 'w', command: `rsync --server ${B} . /..`, deny: 'rsync-path-escapes-root' },
  { id: 'w', command: `rsync --server ${B} . dst\\/..\\/..`, deny: 'rsync-path-escapes-root' },
  { id: 'r', command: `rsync --server --sender ${B} . src/ ../../etc/shadow`, deny: 'rsync-path-escapes-root' },
  {
    id: 'w',
    command: `rsync --server ${B} --copy-dest ../../other-host . 2026-11-24/`,
    deny: 'rsync-path-escapes-root',
    naming: '--copy-dest',
  },
  // no trailing "/": if the destination is a file, rsync resolves from its parent; --confine-root bounds that
  { id: 'w', command: `rsync --server ${B} --copy-dest ../prev . cur`, argv: push('--copy-dest', '../prev')('cur') },
  { id: 'w', command: `rsync --server ${B} --copy-dest=/../x . d/`, deny: 'rsync-path-escapes-root', naming: '--copy-dest' },
  { id: 'w', command: `rsync --server ${B} --backup-dir ../../x . d/`, deny: 'rsync-path-escapes-root', naming: '--backup-dir' },
  { id: 'w', command: `rsync --server ${B} --temp-dir ../../tmp . d/`, deny: 'rsync-path-escapes-root', naming: '--temp-dir' },
  { id: 'wd', command: `rsync --server ${B} --partial-dir ../p . d/`, deny: 'rsync-path-escapes-root', naming: '--partial-dir' },
  { id: 'r', command: `rsync --server --sender ${B} --files-from ../list . src/`, deny: 'rsync-path-escapes-root', naming: '--files-from' },
  {
    id: 'w',
    command: `rsync --server ${B} --files-from list.txt . dst/`,
    deny: 'rsync-option-refused',
    naming: 'the client sends the list itself',
  },
  { id: 'w', command: `rsync --server ${B} . ~/x`, deny: 'tokenize-expansion' },
  { id: 'w', command: `rsync --server ${B} . $HOME/.ssh`, deny: 'tokenize-variable' },
  { id: 'r', command: `rsync --server --sender ${B} . 'logs/*.gz'`, argv: pull()('logs/*.gz') }, // quoted: a literal name, not a pattern
  { id: 'r', command: `rsync --server --sender ${B} . logs/*.gz`, argv: pull()('logs/*.gz') }, // a wildcard: expanded on the host (see below)
  { id: 'w', command: `rsync --server ${B} . dst/*`, deny: 'tokenize-glob', naming: 'push destination' },
  { id: 'w', command: `rsync --server ${B} --link-dest ../p* . dst/`, deny: 'tokenize-glob', naming: 'in an option' },
  { id: 'r', command: `rsync --server --sender ${B} . ../*`, deny: 'rsync-path-escapes-root' },

  // --- two rules: the one whose root and direction fit is found; the record names the first refusal
  {
    id: 'two',
    command: `rsync --server --sender ${B} . app.log`,
    argv: ['/usr/bin/rsync', '--server', '--sender', B, '--munge-links', '--confine-root=/var/log/app', '--', '.', 'app.log'],
  },
  {
    id: 'two',
    command: `rsync --server ${B} . in/`,
    argv: [
      '/usr/bin/rsync',
      '--server',
      B,
      '--munge-links',
      '--drop-D',
      '--confine-root=/srv/incoming',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      'in/',
    ],
  },
  { id: 'two', command: `rsync --server ${B} --delete . in/`, deny: 'rsync-option-refused', naming: 'rule uploads: --delete' }, // the rule for this direction says why

  // --- absolute-paths: true takes an absolute path under root as it is (rrsync -absolute)
  { id: 'abs', command: `rsync --server ${B} . ${ROOT}/2026-11-24/`, argv: push()('2026-11-24/') },
  { id: 'abs', command: `rsync --server ${B} . ${ROOT}`, argv: push()('.') },
  {
    id: 'abs',
    command: `rsync --server ${B} --copy-dest ${ROOT}/2026-11-23 . ${ROOT}/2026-11-24/`,
    argv: push('--copy-dest', `${ROOT}/2026-11-23`)('2026-11-24/'),
  },
  // Outside root: not this rule's (the next one is tried), never re-rooted (issue 17: it was, and logged as allowed).
  { id: 'abs', command: `rsync --server ${B} . /etc/`, deny: 'rsync-path-outside-rule' },
  { id: 'abs', command: `rsync --server ${B} . ${ROOT}2/x/`, deny: 'rsync-path-outside-rule' }, // a prefix that is not root
  { id: 'abs', command: `rsync --server ${B} --copy-dest /etc/x . ${ROOT}/2026-11-24/`, deny: 'rsync-path-escapes-root' },
  { id: 'abs', command: `rsync --server ${B} . 2026-11-24/`, argv: push()('2026-11-24/') }, // relative: under root, as always
  { id: 'abs', command: `rsync --server ${B} . ${ROOT}/../x/`, deny: 'rsync-path-escapes-root' },
  { id: 'w', command: `rsync --server ${B} . ${ROOT}/2026-11-24/`, argv: push()(`${ROOT.slice(1)}/2026-11-24/`) }, // without it: root-relative

  // --- munge-links: false
  {
    id: 'raw',
    command: `rsync --server ${B} . dst/`,
    argv: ['/usr/bin/rsync', '--server', B, '--drop-D', `--confine-root=${ROOT}`, ...WRITE_ONLY, ...REPORT, '--', '.', 'dst/'],
  },
];

describe('rsync rules (rsync 3.5: --confine-root and --drop-D available)', () => {
  it.each(rows.map((row, i) => ({ ...row, label: `${i + 1}. [${row.id}] ${row.command}` })))('$label', (row) => {
    const decision = decide(policy, requestFor(row.id, row.command, { client: null, keys: null }), facts(V35));
    if ('argv' in row) {
      expect(decision.decision === 'deny' ? `${decision.reason}: ${decision.detail}` : 'allow').toBe('allow');
      if (decision.decision === 'allow') expect(execPlan(decision).argv).toEqual(row.argv);
    } else {
      expect(decision.decision).toBe('deny');
      if (decision.decision === 'deny') {
        expect(decision.reason).toBe(row.deny);
        if (row.naming) expect(decision.detail).toContain(row.naming);
      }
    }
  });
});

describe('rsync rules on an older rsync', () => {
  it('leaves out --confine-root and --drop-D, which it would refuse', () => {
    const decision = decide(policy, requestFor('w', `rsync --server ${B} . dst/`), facts(V32));
    expect(decision.decision === 'allow' && execPlan(decision).argv).toEqual([
      '/usr/bin/rsync',
      '--server',
      B,
      '--munge-links',
      ...WRITE_ONLY,
      ...REPORT,
      '--',
      '.',
      'dst/',
    ]);
  });
  it('keeps the sibling-snapshot layout when the destination ends in "/"', () => {
    const decision = decide(policy, requestFor('w', `rsync --server ${B} --copy-dest ../prev . cur/`), facts(V32));
    expect(decision.decision).toBe('allow');
  });
  it('refuses ../ from a destination without "/" at the top of root, which rsync could resolve from root itself', () => {
    const decision = decide(policy, requestFor('w', `rsync --server ${B} --copy-dest ../prev . cur`), facts(V32));
    expect(decision.decision === 'deny' && decision.reason).toBe('rsync-path-escapes-root');
  });
});

describe('wildcards in pull paths', () => {
  it('are handed to the host for expansion, with their argv place and a pattern relative to root', () => {
    const decision = decide(policy, requestFor('r', `rsync --server --sender ${B} . /logs/*.gz src/ a\\*b?`), facts(V35));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    const argv = execPlan(decision).argv;
    expect(execPlan(decision).confine!.wildcards).toEqual([
      { argvIndex: argv.length - 3, pattern: 'logs/*.gz' },
      { argvIndex: argv.length - 1, pattern: 'a\\*b?' },
    ]);
  });
});

describe('the plan', () => {
  it('runs rsync in root with the minimal environment and lists the paths to re-check on disk', () => {
    const decision = decide(policy, requestFor('w', `rsync --server ${B} --copy-dest ../prev . cur/`), facts(V35));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    expect(execPlan(decision).cwd).toBe(ROOT);
    expect(Object.keys(execPlan(decision).env).sort()).toEqual(['HOME', 'LANG', 'LOGNAME', 'PATH', 'SSH_CONNECTION', 'USER']);
    expect(execPlan(decision).confine).toEqual({
      root: ROOT,
      within: [ROOT],
      paths: [`${ROOT}/cur`, `${ROOT}/prev`],
      wildcards: [],
      pull: null,
    });
    expect(execPlan(decision).minFree).toEqual({ path: ROOT, bytes: 2 ** 30 });
  });
  it('keeps no free-space floor for a pull, which writes nothing under root', () => {
    expect(execPlan(decide(policy, requestFor('r', `rsync --server --sender ${B} . src/`), facts(V35))).minFree).toBeNull();
  });
});

describe('a pull says whether rsync runs with --relative (what rules/rsync/pin.ts may pin)', () => {
  it.each([
    [`rsync --server --sender ${B} . dst/`, false],
    [`rsync --server --sender -logDtpRe.LsfxCIvu . dst/`, true],
    [`rsync --server --sender ${B} --relative . dst/`, true],
    [`rsync --server --sender -logDtpRe.LsfxCIvu --no-relative . dst/`, false],
    [`rsync --server --sender ${B} --files-from=- --from0 . dst/`, true],
    [`rsync --server --sender ${B} --no-relative --files-from=- --from0 . dst/`, false],
  ])('%s → relative %s', (command, relative) => {
    const decision = decide(policy, requestFor('r', command), facts(V35));
    expect(decision.decision).toBe('allow');
    expect(execPlan(decision).confine?.pull).toEqual({ relative, operandsAt: execPlan(decision).argv.length - 1 });
  });

  it('a push has nothing to pin', () => {
    expect(execPlan(decide(policy, requestFor('w', `rsync --server ${B} . dst/`), facts(V35))).confine?.pull).toBeNull();
  });
});

describe('paths: subtrees of root, and rules that take only their own paths (issue 17)', () => {
  const R = '-logDtprRe.iLsfxCIvu';
  const policy = policyFrom(`
version: 1
identities:
  snap:
    rules:
      - { name: system, rsync: { root: /, access: read, paths: [/etc, /home] } }
  srv:
    rules:
      - { name: snap, rsync: { root: /srv/data, access: read, paths: [/srv/data/etc, /srv/data/home] } }
  two:
    rules:
      - { name: etc, rsync: { root: /srv/etc, access: write, absolute-paths: true } }
      - { name: home, rsync: { root: /srv/home, access: write, absolute-paths: true } }
  push:
    rules:
      - { name: shares, rsync: { root: /srv/backup, access: write, paths: [/srv/backup/host1] } }
`);
  const decideFor = (id: string, command: string) => decide(policy, requestFor(id, command), { rsync: new Map([['/usr/bin/rsync', V35]]) });

  it('rsnapshot’s pull of /etc/ with --relative from root /: allowed, the name kept, only the paths bound in the sandbox', () => {
    const decision = decideFor('snap', `rsync --server --sender ${R} --numeric-ids . /etc/`);
    const plan = execPlan(decision);
    expect(plan.argv.at(-1)).toBe('etc/');
    expect(plan.sandbox).toMatchObject({ read: ['/etc', '/home'], write: [] });
    expect(plan.confine).toMatchObject({ within: ['/etc', '/home'] });
  });

  it('a pull names what it reads for the secrets the sandbox withholds: each operand, a wildcard one up to the wildcard; secrets withhold unless the rule says serve', () => {
    expect(execPlan(decideFor('snap', `rsync --server --sender ${R} . /etc/ /home/`)).sandbox).toMatchObject({
      secrets: 'withhold',
      reads: ['/etc', '/home'],
    });
    expect(execPlan(decideFor('snap', `rsync --server --sender ${B} . /etc/ssh/sshd_config`)).sandbox).toMatchObject({
      reads: ['/etc/ssh/sshd_config'],
    });
    expect(execPlan(decideFor('srv', `rsync --server --sender ${B} . /srv/data/etc/*.conf`)).sandbox).toMatchObject({
      reads: ['/srv/data/etc'],
    });
    const serving = policyFrom(`
version: 1
identities:
  s: { rules: [ { name: system, rsync: { root: /, access: read, paths: [/etc], secrets: serve } } ] }
  all: { rules: [ { name: all, rsync: { root: /, access: read } } ] }
`);
    const decideIn = (id: string, command: string) =>
      decide(serving, requestFor(id, command), { rsync: new Map([['/usr/bin/rsync', V35]]) });
    expect(execPlan(decideIn('s', `rsync --server --sender ${R} . /etc/`)).sandbox).toMatchObject({ secrets: 'serve', reads: ['/etc'] });
    // Following symlinks (allowed from root / without paths), a pull may read anything under root.
    expect(execPlan(decideIn('all', `rsync --server --sender -Lre.iLsfxCIvu . /home/`)).sandbox).toMatchObject({ reads: ['/'] });
    expect(execPlan(decideIn('all', `rsync --server --sender ${B} . /home/`)).sandbox).toMatchObject({ reads: ['/home'] });
  });

  it('from a root other than /, a --relative pull keeps the absolute path as sent (its names must not lose the prefix)', () => {
    expect(execPlan(decideFor('srv', `rsync --server --sender ${R} . /srv/data/etc/`)).argv.at(-1)).toBe('/srv/data/etc/');
    // Without --relative the names do not carry the prefix: root-relative, pinned as usual.
    expect(execPlan(decideFor('srv', `rsync --server --sender ${B} . /srv/data/etc/`)).argv.at(-1)).toBe('etc/');
  });

  it.each([
    ['a path outside the rule’s paths', 'snap', `rsync --server --sender ${R} . /root/`],
    ['a path beside them', 'snap', `rsync --server --sender ${R} . /etcetera/`],
    ['root itself, which holds more than the paths', 'snap', `rsync --server --sender ${R} . /`],
    ['a relative path outside the paths', 'srv', `rsync --server --sender ${B} . other/`],
  ])('%s: refused as rsync-path-outside-rule', (_name, id, command) => {
    expect(decideFor(id, command)).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
  });

  it('two rules with absolute-paths: each takes its own root, the second is reached (it was re-rooted under the first)', () => {
    expect(decideFor('two', `rsync --server ${B} . /srv/etc/x/`)).toMatchObject({ decision: 'allow', rule: { name: 'etc' } });
    const home = decideFor('two', `rsync --server ${B} . /srv/home/alice/`);
    expect(home).toMatchObject({ decision: 'allow', rule: { name: 'home' } });
    expect(execPlan(home).argv.at(-1)).toBe('alice/');
    expect(decideFor('two', `rsync --server ${B} . /srv/other/`)).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
  });

  it('-L, -k and --copy-unsafe-links follow symlinks: refused under paths: even from root / (found in review: -L read past the paths)', () => {
    for (const option of ['-Lre.iLsfxCIvu', '-rke.iLsfxCIvu', '--copy-unsafe-links']) {
      const words = option.startsWith('--') ? `-re.iLsfxCIvu ${option}` : option;
      expect(decideFor('snap', `rsync --server --sender ${words} . /etc/`), option).toMatchObject({
        decision: 'deny',
        reason: 'rsync-option-refused',
      });
    }
  });

  it('a pull wildcard under absolute-paths is expanded relative to root (found in review: /R/sub/* was looked for under R/R/sub/)', () => {
    const plan = execPlan(decideFor('srv', `rsync --server --sender ${B} . /srv/data/etc/*.conf`));
    expect(plan.confine?.wildcards).toEqual([{ argvIndex: plan.argv.length - 1, pattern: 'etc/*.conf' }]);
    expect(decideFor('srv', `rsync --server --sender ${R} . /srv/data/etc/*.conf`)).toMatchObject({
      decision: 'deny',
      reason: 'tokenize-glob',
    });
  });

  it('a push into a path, with a --copy-dest in it: allowed; a --copy-dest outside the paths is refused', () => {
    expect(decideFor('push', `rsync --server ${B} --copy-dest /srv/backup/host1/a . /srv/backup/host1/b/`).decision).toBe('allow');
    expect(decideFor('push', `rsync --server ${B} --copy-dest /srv/backup/host2/a . /srv/backup/host1/b/`)).toMatchObject({
      decision: 'deny',
      reason: 'rsync-path-escapes-root',
    });
    expect(execPlan(decideFor('push', `rsync --server ${B} . /srv/backup/host1/b/`)).sandbox).toMatchObject({
      write: ['/srv/backup/host1'],
    });
  });
});
