/**
 * The hostile-input corpus: every row a command a stolen key (or a confused client) might send,
 * with the decision it must get, and the policy it is decided against. test/cli/hostile.test.ts
 * runs every row through explain's code in-process; test/e2e/hostile.e2e.test.ts runs a sample
 * through the real sshd and a handful through the built binary's `explain --json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const B = '-logDtpre.iLsfxCIvu';

/** The corpus's fixtures under `dir` (rsync roots, upload dirs) and its policy; returns the policy's path. */
export function writeHostilePolicy(dir: string): string {
  const root = join(dir, 'backup');
  const restore = join(dir, 'restore');
  for (const d of [root, join(restore, 'dst'), join(dir, 'up'), join(dir, 'incoming')]) mkdirSync(d, { recursive: true });
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
audit: { file: ${join(dir, 'audit.jsonl')} }
identities:
  h:
    rules:
      - { name: sizes, exec: { command: "du -sh /srv/backup/*", program: /usr/bin/du } }
      - { name: scp-in, exec: { command: ["scp", "-t", "/srv/incoming/*"], program: /usr/bin/scp } }
      - { name: push, rsync: { root: ${root}, access: write } }
      - { name: pull, rsync: { root: ${restore}, access: read } }
      - { name: up, receive: { dir: ${join(dir, 'up')}, name: "u-{timestamp}.bin", client-name: "*.tar" } }
      - { name: hop, relay: { to: ["db.internal:22", "10.0.0.0/24:22", "[2001:db8::/64]:22"] } }
      - { name: spool, exec: { command: "rm -rf /srv/x/spool/*", program: /bin/rm } }
      - { name: logs, exec: { command: "cat /srv/x/logs/!(*.key)", program: /bin/cat } }
      - { name: sql, exec: { command: ["psql", "-d", "shop", "-c", "SELECT count(*) FROM orders"], program: /usr/bin/psql } }
      - { name: tarball, exec: { command: "sha256sum /srv/backup/backup-*-*-*-*.tar.gz", program: /usr/bin/sha256sum } }
`,
    { mode: 0o600 },
  );
  return policy;
}

/** [command, expected: 'allow' | a deny reason] */
export type Row = [string, string];

const base = 'du -sh /srv/backup/x';
const metachars = [';', '|', '&', '&&', '||', '>', '>>', '<', '(', ')', '$(id)', '`id`', '#', '{a,b}', '!'];
const positions: Row[] = metachars.flatMap((m) => {
  const reason =
    m === '#'
      ? 'tokenize-comment'
      : m === '$(id)' || m === '`id`'
        ? 'tokenize-substitution'
        : m === '{a,b}' || m === '!'
          ? 'tokenize-expansion'
          : 'tokenize-operator';
  return [
    [`${m} ${base}`, reason],
    [`du -sh ${m} /srv/backup/x`, reason],
    [`${base}${m}`, reason],
  ] as Row[];
});

export const rows: Row[] = [
  ...positions,
  // substitution and expansion
  ['du -sh $HOME', 'tokenize-variable'],
  ['du -sh ${HOME}/x', 'tokenize-variable'],
  ['du -sh "$HOME"', 'tokenize-variable'],
  ['du -sh /srv/backup/$1', 'tokenize-variable'],
  ['du -sh /srv/backup/$$', 'tokenize-variable'],
  ["du -sh $'\\x2e\\x2e/etc'", 'tokenize-expansion'],
  ['du -sh ~root', 'tokenize-expansion'],
  ['du -sh $((1+1))', 'tokenize-substitution'],
  ['du -sh "`id`"', 'tokenize-substitution'],
  ['du -sh /srv/backup/*', 'tokenize-glob'],
  ['du -sh /srv/backup/?', 'tokenize-glob'],
  ['du -sh /srv/backup/[ab]', 'tokenize-glob'],
  // control characters and look-alikes (NUL cannot pass through argv; the unit tests cover it)
  ['du -sh /srv/backup/x\nid', 'tokenize-control-character'],
  ['du -sh /srv/backup/x\rid', 'tokenize-control-character'],
  ["du -sh '/srv/backup/a\tb'", 'tokenize-control-character'],
  ['du -sh /srv/backup/\u001b[2J', 'tokenize-control-character'],
  ['du -sh /srv/backup/x\u007f', 'tokenize-control-character'],
  ['du -sh /srv/backup/x\u0085', 'tokenize-control-character'],
  ['du -sh /srv/backup/x\u2028id', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/report\u202efdp.exe', 'tokenize-invisible-character'],
  ['du\u200b -sh /srv/backup/x', 'tokenize-invisible-character'],
  ['\ufeffdu -sh /srv/backup/x', 'tokenize-invisible-character'],
  ['du\u00a0-sh /srv/backup/x', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\uff0e\uff0e', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/x\u2215..\u2215etc', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2025', 'tokenize-invisible-character'],
  // look-alikes whose normal form holds "." or "/" (a normalising filesystem reads "../")
  ['du -sh /srv/backup/\ufe30/etc', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2100', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2101', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2105', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2106', 'tokenize-invisible-character'],
  ['du -sh /srv/backup/\u2026/etc', 'tokenize-invisible-character'],
  ['rѕync --server . x', 'no-rule-matched'],
  ['ｒｓｙｎｃ --server . x', 'no-rule-matched'],
  // sizes
  [`du -sh /srv/backup/${'a'.repeat(100_000)}`, 'tokenize-too-long'],
  [`du ${'-x '.repeat(5000)}`, 'tokenize-too-many-words'],
  [`du -sh /srv/backup/${'a'.repeat(5000)}`, 'tokenize-word-too-long'],
  // traversal through the exec glob
  ['du -sh /srv/backup/..', 'no-rule-matched'],
  ['du -sh /srv/backup/../etc', 'no-rule-matched'],
  ['du -sh /srv/backup/./x', 'no-rule-matched'],
  ['du -sh /srv/backup//x', 'no-rule-matched'],
  ['du -sh /srv/backup/x/..', 'no-rule-matched'],
  ['du -sh /srv/backup/.ssh', 'no-rule-matched'],
  ['du -sh /srv/backup/-L', 'allow'], // a path that starts with "/", never an option
  // exec patterns: only * ? [...] ** are wildcards, never an empty or hidden name (issue 14)
  ['rm -rf /srv/x/spool//', 'no-rule-matched'],
  ['rm -rf /srv/x/spool/.lock', 'no-rule-matched'],
  ['rm -rf /srv/x/spool/old', 'allow'],
  ['cat /srv/x/logs/.htpasswd', 'no-rule-matched'],
  ['cat /srv/x/logs/access.log', 'no-rule-matched'],
  ["psql -d shop -c 'SELECT count(*) FROM orders; DELETE FROM orders; SELECT 1 FROM orders'", 'no-rule-matched'],
  ["psql -d shop -c 'SELECT count(1) FROM orders; DELETE FROM orders; SELECT count(1) FROM orders'", 'no-rule-matched'],
  ["psql -d shop -c 'SELECT count(*) FROM orders'", 'allow'],
  [`sha256sum /srv/backup/backup-${'-'.repeat(1000)}`, 'no-rule-matched'], // 27.7 s under micromatch
  [`sha256sum /srv/backup/backup-${'-'.repeat(4000)}`, 'no-rule-matched'],
  ['du -sh /srv/backup/x', 'allow'],
  // program choice and wrappers
  ['sh -c id', 'no-rule-matched'],
  ['/bin/sh', 'no-rule-matched'],
  ['bash -i', 'no-rule-matched'],
  ['env du -sh /srv/backup/x', 'no-rule-matched'],
  ['sudo du -sh /srv/backup/x', 'spelling-refused'], // sudo is taken only in front of rsync
  ['doas rsync --server -logDtpre.iLsfxCIvu . x/', 'spelling-refused'],
  ['LD_PRELOAD=/tmp/x.so du -sh /srv/backup/x', 'no-rule-matched'],
  ['./du -sh /srv/backup/x', 'no-rule-matched'],
  ['/tmp/du -sh /srv/backup/x', 'no-rule-matched'],
  ['python3 -c print', 'no-rule-matched'],
  ['internal-sftp', 'no-rule-matched'],
  ['/usr/lib/openssh/sftp-server', 'no-rule-matched'],
  ['exit', 'no-rule-matched'],
  ['', 'no-command'],
  ['   ', 'no-command'],
  // scp, legacy protocol
  ['scp -t /srv/incoming/x', 'allow'],
  ['scp -t /srv/incoming/../../etc/cron.d', 'no-rule-matched'],
  ['scp -f /etc/shadow', 'no-rule-matched'],
  ['scp -r -t /srv/incoming/x', 'no-rule-matched'],
  ['scp -t -- /srv/incoming/x', 'no-rule-matched'],
  ['scp -S /tmp/x -t /srv/incoming/x', 'no-rule-matched'],
  ['scp -t /srv/incoming/-oProxyCommand=x', 'allow'], // a path, not an option: it starts with "/"
  // rsync structure and direction
  [`rsync --server ${B} . dst/`, 'allow'],
  [`rsync --server --sender ${B} . dst/`, 'allow'],
  [`rsync ${B} . dst/`, 'rsync-not-server'],
  [`rsync -e sh x:y .`, 'rsync-not-server'],
  ['rsync /etc/shadow /srv/backup/host1/', 'rsync-not-server'],
  [`rsync --server ${B} --sender . dst/`, 'rsync-bad-syntax'],
  [`rsync --server --server ${B} . dst/`, 'rsync-bad-syntax'],
  [`rsync --server ${B} dst/`, 'rsync-bad-syntax'],
  [`rsync --server ${B} . a b`, 'rsync-bad-syntax'],
  // rsync paths
  [`rsync --server ${B} . ../x`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . a/../../x`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . /..`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . ..`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . a/./../..`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . dst\\/..\\/..`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} . /etc/`, 'allow'],
  [`rsync --server ${B} . //x//y/`, 'allow'],
  [`rsync --server ${B} --copy-dest ../../x . d/`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} --backup-dir ../../x . d/`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} --temp-dir /../x . d/`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} --partial-dir ../p . d/`, 'rsync-option-refused'], // delete: false refuses any partial dir before its path is looked at
  // a write-only push learns nothing of stored contents; delete: false deletes nothing (see rsync-promises)
  [`rsync --server -logDtprce.iLsfxCIvu . d/`, 'rsync-option-refused'],
  [`rsync --server -logDtprye.iLsfxCIvu . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --checksum . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --fuzzy . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --no-W . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --append-verify . d/`, 'rsync-option-unknown'],
  [`rsync --server ${B} --append --append . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --force . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delay-updates . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --max-alloc=1-1 . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --max-alloc=0.0009k . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} -B1 --compare-dest ../snap . d/`, 'allow'], // allowed: --whole-file is imposed, no sums are sent
  [`rsync --server --sender ${B} --files-from ../l . d/`, 'rsync-path-escapes-root'],
  [`rsync --server ${B} --files-from l . d/`, 'rsync-option-refused'],
  // rsync options that are never safe, each form
  [`rsync --server -e sh . d/`, 'rsync-option-refused'],
  [`rsync --server -esh . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --rsh=sh . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --rsh sh . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --rsync-path=/tmp/x . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --rsync-path /tmp/x . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --daemon . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --config=/tmp/c . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --config /tmp/c . d/`, 'rsync-option-refused'],
  [`rsync --server -M--log-file=x . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --log-file=/root/.ssh/authorized_keys . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --log-file /root/.ssh/authorized_keys . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --write-devices . d/`, 'rsync-option-refused'],
  [`rsync --server --sender ${B} --copy-devices . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --debug=ALL . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --no-munge-links . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --copy-as=root . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --trust-sender . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --secluded-args . d/`, 'rsync-option-refused'],
  [`rsync --server -slogDtpre.iLsfxCIvu`, 'rsync-option-refused'],
  [`rsync --server ${B} --protect-args . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --only-write-batch=X . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --read-batch=x . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --write-batch=x . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --exclude-from=/etc/shadow . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --include-from /etc/shadow . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --filter=merge\\ /etc/shadow . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --chmod=u+s . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --max-alloc=0 . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --confine-root=/ . d/`, 'rsync-option-refused'],
  [`rsync --server --sender -lLogDtpr . d/`, 'rsync-option-refused'],
  [`rsync --server --sender -lkogDtpr . d/`, 'rsync-option-refused'],
  [`rsync --server -lKogDtpr . d/`, 'rsync-option-refused'],
  [`rsync --server --sender ${B} --copy-unsafe-links . d/`, 'rsync-option-refused'],
  [`rsync --server -lHogDtpAXr . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete-before . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete-during . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete-delay . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete-after . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --delete-excluded . d/`, 'rsync-option-refused'],
  [`rsync --server --sender ${B} --remove-source-files . d/`, 'rsync-option-refused'],
  [`rsync --server ${B} --no-such-option . d/`, 'rsync-option-unknown'],
  [`rsync --server -logDtprQ . d/`, 'rsync-option-unknown'],
  // receive
  ['receive', 'allow'],
  ['receive db.tar', 'allow'],
  ['receive ../../etc/cron.d/x.tar', 'receive-refused'],
  ['receive .ssh.tar', 'receive-refused'],
  ['receive a/b.tar', 'receive-refused'],
  ['receive x.sh', 'receive-refused'],
  ['receive -rf', 'receive-refused'],
  // relays
  ['nc db.internal 22', 'allow'],
  ['nc -w 30 10.0.0.7 22', 'allow'],
  ['relay 2001:db8::5 22', 'allow'],
  ['nc db.internal 23', 'relay-refused'],
  ['nc db.internal ssh', 'relay-refused'],
  ['nc db.internal 022', 'relay-refused'],
  ['nc 10.5 22', 'relay-refused'],
  ['nc 0x0a000005 22', 'relay-refused'],
  ['nc 167772165 22', 'relay-refused'],
  ['nc 127.0.0.1 22', 'relay-refused'],
  ['nc localhost 22', 'relay-refused'],
  ['nc ::1 22', 'relay-refused'],
  ['nc db.internal.evil.example 22', 'relay-refused'],
  ['nc -e /bin/sh db.internal 22', 'relay-refused'],
  ['nc -l -p 4444', 'relay-refused'],
  ['nc -U /var/run/docker.sock', 'relay-refused'],
  ['nc -x proxy:1080 db.internal 22', 'relay-refused'],
  ['nc -z 10.0.0.1 1-65535', 'relay-refused'],
];

// What real tools send must keep passing (the other half of the promise).
export const legitimate: Row[] = [
  [`rsync --server -logDtprze.iLsfxCIvu . 2026-11-24/`, 'allow'],
  // --link-dest under a plain write rule: only snapshot: true serves it (history read-only).
  [`rsync --server ${B} --link-dest ../2026-11-23 . 2026-11-24/`, 'rsync-option-refused'],
  [`rsync --server ${B} --copy-dest=/snap/2026-11-23 . 2026-11-24/`, 'allow'],
  [`rsync --server -lHogDtpre.iLsfxCIvu --numeric-ids --link-dest=../daily.1 . daily.0/`, 'rsync-option-refused'],
  [`rsync --server ${B} --log-format=X --partial . dst/`, 'allow'],
  [`rsync --server ${B} --partial-dir .rsync-partial --delay-updates . dst/`, 'rsync-option-refused'], // consumes what it finds there: needs delete: true
  [`rsync --server ${B} -B4096 --timeout=600 --bwlimit=10240 . dst/`, 'allow'],
  [`rsync --server ${B} . my\\ files/`, 'allow'],
  [`rsync --server ${B} . /`, 'allow'],
  [`rsync --server --sender -logDtprRe.iLsfxCIvu --numeric-ids . /etc/ /home/`, 'allow'],
  // BackupPC 3 spells the options out.
  [`rsync --server --sender ${B} . gone/`, 'rsync-source-unreachable'], // started inside its directory, so it must exist
  [
    `rsync --server --sender --numeric-ids --perms --owner --group -D --links --hard-links --times --block-size=2048 --recursive --ignore-times . /`,
    'allow',
  ],
  [`rsync --server --sender ${B} --files-from=- --from0 . /`, 'allow'],
  ['true', 'no-rule-matched'], // rrsync answers it; here it needs its own exec rule
];
