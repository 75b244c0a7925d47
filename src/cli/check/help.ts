/** `ssh-dispatch check --help`: what it reports (docs/check.md has every finding by its ID). */
export const CHECK_HELP = `Usage: ssh-dispatch check [--policy PATH] [--strict] [--as USER] [--sshd-config FILE] [--authorized-keys FILE]...

Loads the policy files as they are now (a file, or every *.yaml / *.yml file of a directory)
with the same strict checks apply uses, and prints each error as FILE:LINE: KEY: what was
expected. It changes nothing: keys serve the applied version ("ssh-dispatch apply"), and the
last line says which version that is and whether these files differ from it.

Then it reports, as FILE:LINE: warning: ... or FILE:LINE: UNSAFE: ...
  - UNSAFE: write rules (rsync write/read-write, receive) whose directory, symlinks resolved,
    is, lies in or contains: any account's home (every uid, read with getent passwd), /etc,
    /usr, /bin, /sbin, /lib*, /boot, /var/spool/cron, systemd's and sudoers' directories, the
    policy, the audit log, or where ssh-dispatch and its Node runtime are installed;
  - UNSAFE: exec rules whose program is a shell, an interpreter, sudo, env or another runner
    and any of whose words (the first included) is a glob; and a glob word that can be any
    absolute path (a leading **, or /* and /**) for a program that reads or writes files
    (outside a sandbox); exec rules that run sftp-server or scp outside a sandbox (an sftp rule
    serves them confined), or rdiff-backup server outside one (it unpickles the client's first
    message: code as this account; with writable sandbox paths, a warning);
  - errors (the rule's requests cannot be served): sandboxed rules (rsync by default, exec with
    sandbox:, sftp) where /usr/bin/bwrap is missing or cannot build a namespace, and exec
    sandbox paths that do not exist; a warning when other accounts than root could not have
    one (user namespaces switched off);
  - errors: an audit.syslog.tls ca file that cannot be read (as a connection reads it: a
    regular file of at most 1 MiB), holds no PEM certificate, has one that does not parse, or
    none valid today: no record would reach the syslog collector (the file log has them all);
  - warnings: git-receive-pack rules whose repository's config lacks receive.denyNonFastForwards
    or receive.denyDeletes (forced pushes and deletions are taken); borg serve rules whose
    repository's config is not a sandbox read path (borg key import replaces the repokey);
  - warnings: rules that can never match (shadowed, or of an expired identity); exec rules with
    a bare * word or a program that can run others with literal words; programs that are
    missing or not executable; rule directories that are missing, owned by another non-root
    account, or writable by group or others; write rules on the audit log's filesystem (a
    client filling it would deny every identity); an rsync older than 3.5.0;
  - sshd settings (sshd -T, read when run as root, or from --sshd-config FILE): UNSAFE for
    PermitUserEnvironment that lets NODE_OPTIONS, LD_PRELOAD and the like through, and for
    TrustedUserCAKeys without a principals command or file (a certificate naming an account
    gets its shell), and for AllowStreamLocalForwarding yes where a relay identity logs in (its
    key forwards, and ssh -R of a Unix socket is sshd_config's alone); warnings for ExposeAuthInfo,
    PermitRootLogin yes, AcceptEnv beyond LANG LC_*, AllowTcpForwarding yes or remote and
    AllowStreamLocalForwarding local there;
  - what pam_env sets for every session (/etc/environment, /etc/security/pam_env.conf): errors
    for a variable that denies every request (docs/environment.md lists them), a warning for a
    CA bundle (SSL_CERT_FILE, SSL_CERT_DIR, NODE_EXTRA_CA_CERTS) accepted because root owns it;
  - the policy as the only list of keys (docs/fleet.md): errors when sshd would refuse to run
    ssh-dispatch authorized-keys-command or authorized-principals-command (not %u %t %k / %u,
    no command user, a path not root's up to /), when the command fails run as its user (it
    cannot read the policy or its applied version), and when identities with
    principals cannot see their certificate (ExposeAuthInfo); warnings for a shared command
    user (root, nobody), authorized_keys files still read beside the policy, identities with
    principals but no accounts, and a key or principal two identities claim for one account;
  - with --authorized-keys FILE (repeatable): UNSAFE for an ssh-dispatch line that leaves
    port forwarding on without permitopen= or without permitlisten= (ssh -R listens on the
    server), with a permitopen= its identity's relay rules lack, or a pty, agent or X11
    forwarding or ~/.ssh/rc on (no restrict, or re-enabled after it), or that has environment=;
    warnings for a relay destination the permitopen= list lacks, a command=
    the forced mode would refuse or an identity the policy lacks, keys in the same file with
    no command=, and an account whose login shell is bash.

  - with --as USER (as root), and for every account of the policy's accounts: lists that this
    host has: errors when that account, whose keys run ssh-dispatch, cannot
    read the policy or append to its own audit log (AUDIT_DIR/audit.USER.jsonl beside the
    policy's audit.file, which install.sh --account USER creates for it): every request of
    its keys would be denied; a warning when it cannot read audit.syslog.tls.ca (its records
    would not reach the collector); an error when the policy has max-sessions or single-run
    and the account cannot write AUDIT_DIR/sessions.USER/ (install.sh --account USER creates
    it), where their sessions are counted.

Each finding ends with its ID in brackets ([write-root-unsafe]): docs/check.md says, for every
ID, what it means and what to do.
The summary line says "ok" only when there is no finding at all. apply refuses the same errors
and UNSAFE findings of the policy itself (not those of sshd, pam_env, key files or accounts).
--strict: warnings fail too.
Exit status: 0 the policy loads and nothing is UNSAFE or an error (with --strict: nothing at
all), 1 otherwise.`;
