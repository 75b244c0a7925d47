#!/usr/bin/env bash
# Installs what ssh-dispatch needs to build, test and demo, then builds it. Safe to run again:
# it installs only what is missing.
#   - Debian packages: openssh-server, openssh-client, rsync, rsyslog, rsyslog-gnutls,
#     bubblewrap, and the real clients the end-to-end tests drive: restic, rsnapshot,
#     borgbackup, rclone, rdiff-backup, duplicity, backuppc-rsync, git (needs root; apt-get).
#     rsyslog for the syslog end-to-end tests, rsyslog-gnutls (its TLS driver) for syslog over
#     TLS (the tests start their own daemon, never the system's); bubblewrap is the sandbox
#     rules run in.
#   - npm packages: npm ci (includes the node devDependency, the Node 24 runtime npm scripts use)
#   - the bundle: dist/ssh-dispatch.cjs (launcher) and dist/ssh-dispatch-core.cjs
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
packages=()
need() { [ -x "$1" ] || { missing+=("$1"); packages+=("$2"); }; }
# A library (not executable), at a path with the architecture in it: any match of the glob.
need_lib() { compgen -G "$1" >/dev/null || { missing+=("$1"); packages+=("$2"); }; }
need /usr/sbin/sshd openssh-server
need /usr/bin/ssh openssh-client
need /usr/bin/ssh-keygen openssh-client
need /usr/bin/ssh-agent openssh-client
need /usr/bin/rsync rsync
need /usr/sbin/rsyslogd rsyslog
need_lib '/usr/lib/*/rsyslog/lmnsd_gtls.so' rsyslog-gnutls
need /usr/bin/bwrap bubblewrap
need /usr/bin/restic restic
# The real backup clients the recipes' end-to-end tests drive (docs/recipes.md).
need /usr/bin/rsnapshot rsnapshot
need /usr/bin/borg borgbackup
need /usr/bin/rclone rclone
need /usr/bin/rdiff-backup rdiff-backup
need /usr/bin/duplicity duplicity
need /usr/libexec/backuppc-rsync/rsync_bpc backuppc-rsync
need /usr/bin/git git
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}; as root run: apt-get update && apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${packages[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

node_modules/.bin/node scripts/build.mjs
