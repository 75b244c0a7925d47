/**
 * Every reason a request can be refused, as a closed set of codes.
 *
 * The code goes into the audit record (`reason`), where `summary` counts it and admins grep
 * for it; the text beside it is what `explain` prints. The client is never told which one
 * applied (see serve/session.ts): it learns only that it was denied.
 */
export const DENY_REASONS = {
  // Who is asking
  'unknown-identity': 'the policy has no identity of that name',
  'identity-expired': "the identity's expires date has passed",
  'from-not-allowed': "the client address is not in the identity's from list",
  'from-unknown': 'the identity has a from list, but sshd gave no usable client address (SSH_CONNECTION)',
  'key-not-allowed': "the key that authenticated is not in the identity's keys list",
  'key-unknown': 'the identity has a keys list, but sshd exposed no key (ExposeAuthInfo yes is needed)',
  'account-not-allowed': "the account logged into is not in the identity's accounts list",
  'certificate-missing': 'the identity has a principals list, but sshd exposed no user certificate (a plain key, or ExposeAuthInfo is off)',
  'certificate-principal-not-allowed': "the certificate names none of the identity's principals",
  'certificate-expired': "the certificate's validity has ended (valid_before has passed)",
  'certificate-not-yet-valid': "the certificate's validity has not begun (valid_after is in the future)",

  // What is asked: the command string, before any rule is tried
  'no-command': 'the session sent no command (an interactive login or an empty command)',
  'tokenize-too-long': 'the command is longer than 64 KiB',
  'tokenize-too-many-words': 'the command has more words than the limit',
  'tokenize-word-too-long': 'a word of the command is longer than 4096 bytes',
  'tokenize-control-character': 'the command holds a control character (NUL, CR, LF, ESC, DEL, ...; tab only between words)',
  'tokenize-invisible-character':
    'the command holds an invisible, bidi or non-ASCII space character, a look-alike of "." or "/", or invalid UTF-8',
  'tokenize-operator': 'the command holds a shell operator (; | & < > ( ))',
  'tokenize-substitution': 'the command holds a command substitution ($(...) or backticks)',
  'tokenize-variable': 'the command holds a shell variable ($NAME, ${...}, $1, $$, a lone $)',
  'tokenize-glob': 'the command holds an unquoted glob character (* ? [)',
  'tokenize-comment': 'the command holds an unquoted #',
  'tokenize-expansion': "the command holds something a shell would expand ({ } ~ ! $'...')",
  'tokenize-unbalanced-quote': 'the command has a quote that is never closed',
  'tokenize-trailing-backslash': 'the command ends in a lone backslash',
  'tokenize-divergence': 'shell-quote read the command differently from the strict tokenizer',

  // The rules
  'no-rule-matched': 'no rule of the identity matches the command',
  'spelling-refused':
    'rsync or nc behind a wrapper that is not taken (doas, env, timeout, stdbuf, chrt, sudo -E, sudo -u other, ...), or sudo, nice or ionice in front of a program other than rsync (rules/spelling.ts lists the shapes taken)',

  // rsync rules (the rule that refused is named in the audit record's detail)
  'rsync-not-server': 'an rsync command that is not `rsync --server ...` (rsync would run as a client)',
  'rsync-bad-syntax': 'the rsync server arguments are not `--server [--sender] OPTIONS . PATHS`',
  'rsync-option-unknown': 'an rsync option that is not in the option table',
  'rsync-option-refused': 'an rsync option that is refused, always or by the rule (delete, overwrite, links, acls, xattrs)',
  'rsync-direction-refused': 'a push to a read rule, or a pull from a write rule',
  'rsync-path-escapes-root': "a path that leads out of the rule's root",
  'rsync-protected-args':
    'an rsync -s (--protect-args) request whose arguments, sent on the connection, did not arrive whole (cut, over 64 KiB, over 30 s) or are not rsync arguments',
  'rsync-path-outside-rule':
    "an absolute path outside the root of every rsync rule that takes absolute paths (absolute-paths, paths:), or outside a rule's paths; never re-rooted",
  'rsync-symlink-escape': "on disk, a path resolves out of the rule's root through a symlink",
  'rsync-source-unreachable': 'a pull names a directory that does not exist or cannot be entered (rsync is started inside it)',
  'rsync-wildcard-too-costly': 'expanding a pull wildcard read more than 200000 directory entries or took longer than 2 s',
  'rsync-snapshot-refused':
    'under snapshot: true, a push that does not name one new directory directly under root, or an option that would write outside it',
  'rsync-snapshot-exists':
    "under snapshot: true, a push into a directory that already exists (a snapshot is written once; a planted one fails the owner's run loudly)",
  'rsync-destination-shares-inodes':
    'a push (overwrite: true, no snapshot: true) into a destination holding a file hard-linked from outside it (another snapshot): setting its attributes would change that one too',
  'rsync-destination-unchecked':
    'a push into a destination with more entries than can be checked for history (hard links, directories) before it starts',
  'rsync-root-unusable': "the rule's root does not exist, is not a directory, or is writable by others",

  // receive rules
  'receive-refused': 'a receive command the rule refuses (a name it does not allow, bad --size or --sha256)',
  'receive-name-reserved':
    "a client-chosen name (receive NAME) that the rule's name template gives or could give on any date: only the server gives those names",

  // relay rules
  'relay-refused': 'a relay to a destination the rule does not allow, or an nc form it does not serve',

  // sftp rules
  'sftp-refused':
    'an sftp-server or scp command the rule does not serve (scp -S, -o, two paths, an upload to a read rule, sftp-server flags other than logging)',

  // The sandbox (rsync rules by default, exec rules with `sandbox:`, sftp rules always)
  'sandbox-unavailable':
    'the rule runs its program in a sandbox and this host cannot build one: /usr/bin/bwrap is missing, or user namespaces are switched off for a non-root account',

  // Limits (host/limits.ts): the request is allowed, but not now
  'max-sessions':
    'the identity already has its max-sessions sessions running (a session frees its slot when it ends, or when its dispatcher is killed)',
  'rsync-single-run': "the rule has single-run: true and another rsync of the same root is running (rrsync's lock)",
  'limits-unusable':
    'the identity has max-sessions or the rule single-run, and the directory that counts running sessions (sessions/ beside the audit log, sessions.ACCOUNT/ for an account other than root) cannot be used',

  // The dispatcher itself
  'policy-unloadable': 'the applied policy could not be read or does not load with this build, so every request is denied',
  'policy-not-applied': 'no version of the policy was applied ("ssh-dispatch apply"), so every request is denied',
  'audit-unwritable': 'the decision record could not be written, so the request is denied',
  'unsafe-environment':
    'a variable the loader, glibc, OpenSSL or Node reads (LD_*, GLIBC_*, MALLOC_*, NODE_*, UV_*, OPENSSL_*, SSL_CERT_*, ICU_*, GCONV_PATH, ...) or a locale variable naming a path was set for the dispatcher (SSL_CERT_FILE, SSL_CERT_DIR and NODE_EXTRA_CA_CERTS only when they name something root alone could not have written; docs/environment.md)',
  'internal-error': 'an unexpected error; the request is denied',
} as const;

export type DenyReason = keyof typeof DENY_REASONS;

export function describeDenyReason(reason: DenyReason): string {
  return DENY_REASONS[reason];
}
