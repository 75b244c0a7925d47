#!/usr/bin/env bash
# Installs what ssh-dispatch needs for one purpose, then builds it. Safe to run again: it installs
# only the Debian packages dpkg-query does not report installed, and runs apt-get (update first)
# only when there is one.
#
#   scripts/setup.sh demo   what `npm run demo` uses: a throwaway sshd (openssh-server), ssh,
#                           ssh-keygen (openssh-client), rsync, and bubblewrap (the sandbox the
#                           demo's exec rules run in). tar, du and sha256sum are Essential.
#   scripts/setup.sh test   (the default) the demo's packages, plus the real programs the tests
#                           drive: rsyslog and rsyslog-gnutls (syslog, and syslog over TLS: the
#                           tests start their own daemon, never the system's), the backup clients
#                           of the recipes (docs/recipes.md) with autossh, lftp, unison and
#                           sshfs, git, openssl (test/test-pki.ts), python3, logrotate,
#                           groff-base and man-db (the man page tests), and lintian
#                           (scripts/deb-check.sh checks the Debian package with it).
#
# Then: npm ci (when node_modules is missing or older than the lock file; it brings the Node 24
# runtime npm scripts use) and the bundle (dist/).
#
# apt-get waits for another apt or dpkg (unattended-upgrades, a second terminal) instead of
# failing: up to SETUP_APT_LOCK_TIMEOUT seconds (default 600), then it stops with a message.
# SETUP_DRY_RUN=1 prints what it would install and run, and stops there (nothing installed,
# nothing built).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PACKAGES=(openssh-server openssh-client rsync bubblewrap)
TEST_PACKAGES=(
  rsyslog rsyslog-gnutls
  restic rsnapshot borgbackup rclone rdiff-backup duplicity backuppc-rsync
  autossh lftp unison sshfs
  git openssl python3 logrotate groff-base man-db
  lintian
)

purpose=${1:-test}
case "$purpose" in
  demo) packages=("${DEMO_PACKAGES[@]}") ;;
  test) packages=("${DEMO_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *)
    echo "setup: unknown purpose '$purpose'; usage: scripts/setup.sh [demo|test]" >&2
    exit 2
    ;;
esac
timeout=${SETUP_APT_LOCK_TIMEOUT:-600}
if ! [[ "$timeout" =~ ^[0-9]+$ ]]; then
  echo "setup: SETUP_APT_LOCK_TIMEOUT must be a number of seconds, not '$timeout'" >&2
  exit 2
fi
dry_run=${SETUP_DRY_RUN:-}

# What dpkg reports installed ("ii"): a package it does not know is missing too.
missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  grep -qx "$p ii *" <<<"$installed" || missing+=("$p")
done

# DPkg::Lock::Timeout (apt >= 1.9.11) makes apt-get wait for the dpkg frontend lock.
APT=(apt-get -o "DPkg::Lock::Timeout=$timeout")
if [ -n "$dry_run" ]; then
  echo "setup: $purpose needs: ${packages[*]}"
  echo "setup: missing: ${missing[*]:-(none)}"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: would run: ${APT[*]} update -qq"
    echo "setup: would run: ${APT[*]} install -y -q ${missing[*]}"
  fi
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}; as root run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} (apt-get; waits up to ${timeout} s for another apt or dpkg)" >&2
  export DEBIAN_FRONTEND=noninteractive
  bash scripts/apt-wait.sh "$timeout" "${APT[@]}" update -qq
  bash scripts/apt-wait.sh "$timeout" "${APT[@]}" install -y -q "${missing[@]}"
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

node_modules/.bin/node scripts/build.mjs
