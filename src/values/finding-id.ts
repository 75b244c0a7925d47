/**
 * Every finding `ssh-dispatch check` can print, by its stable ID: the ID ends the finding's line,
 * and docs/check.md says, for each, what it means and what to do (test/finding-ids.test.ts
 * holds this list, the code that emits each one and that page together). An ID is never reused
 * for another meaning: scripts and the admins' notes grep for it.
 */
export const FINDING_IDS = [
  // The policy on its own (policy/lint.ts, rules/*/lint.ts)
  'expired-identity',
  'rule-never-matches',
  'write-root-unsafe',
  'exec-runner-glob-word',
  'exec-program-from-stdin',
  'exec-runs-others',
  'exec-serves-files',
  'exec-rdiff-backup-server',
  'exec-rdiff-backup-writable',
  'exec-borg-config-writable',
  'exec-writes-without-cwd',
  'exec-glob-reach',
  'pattern-word-changed',
  'receive-name-overlaps-template',
  'receive-retention',
  'relay-wide-range',

  // The rules on this host (cli/check/, host/*-findings.ts)
  'rsync-lacks-confine-root',
  'program-not-executable',
  'git-config-unreadable',
  'git-push-not-denied',
  'sandbox-path-missing',
  'data-dir-missing',
  'data-dir-not-directory',
  'data-dir-untrusted',
  'data-dir-shared-with-log',
  'accounts-partly-read',
  'secrets-unsaid',
  'secrets-served',
  'secrets-covered',
  'bwrap-unavailable',
  'bwrap-probe-failed',
  'sandbox-root-only',
  'syslog-ca-unusable',

  // The accounts whose keys run ssh-dispatch (--as, accounts:)
  'account-unknown',
  'account-probe-failed',
  'account-policy-unreadable',
  'account-log-unwritable',
  'account-ca-unreadable',
  'account-sessions-unwritable',

  // sshd's settings
  'sshd-unreadable',
  'sshd-match-unreadable',
  'sshd-user-environment-code',
  'sshd-user-environment',
  'sshd-keys-not-exposed',
  'sshd-root-login',
  'sshd-accept-env',
  'sshd-remote-forwarding',
  'sshd-stream-forwarding',

  // What pam_env sets for every session (/etc/environment, pam_env.conf)
  'pam-env-refused',
  'pam-env-ca-accepted',

  // The policy as the only list of keys (docs/fleet.md)
  'principals-without-accounts',
  'from-admits-none',
  'key-claimed-twice',
  'principal-claimed-twice',
  'keys-command-arguments',
  'keys-command-path-unsafe',
  'keys-command-user-logs-in',
  'keys-command-user-unset',
  'keys-command-user-shared',
  'keys-command-fails',
  'keys-command-no-accounts',
  'keys-file-beside-command',
  'principals-file-first',
  'principals-file-not-policy',
  'ca-without-principals',
  'principals-command-arguments',
  'principals-command-path-unsafe',
  'principals-command-user-unset',
  'ca-not-trusted',
  'certificate-not-exposed',

  // authorized_keys files (--authorized-keys)
  'keys-file-unreadable',
  'key-line-unrestricted',
  'key-line-environment',
  'key-line-listens',
  'key-permitopen-extra',
  'key-permitopen-missing',
  'key-command-not-plain',
  'key-command-refused',
  'key-identity-unknown',
  'key-learn-run-active',
  'key-learn-run-expired',
  'keys-file-no-dispatch',
  'key-without-command',
  'login-shell-bash',
] as const;

export type FindingId = (typeof FINDING_IDS)[number];
