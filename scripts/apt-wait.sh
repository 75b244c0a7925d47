#!/usr/bin/env bash
# scripts/apt-wait.sh SECONDS apt-get ARGS...: runs one apt-get command (scripts/setup.sh gives it
# -o DPkg::Lock::Timeout=SECONDS) so that another apt or dpkg holding a lock makes it wait, at most
# SECONDS, instead of failing. apt-get waits for the dpkg frontend lock itself; `apt-get update`
# on apt 2.6 (Debian 12) does not wait for the lists lock (/var/lib/apt/lists/lock, held by another
# update such as apt-daily), so here it is run again, once a second, until the same deadline.
# When the wait runs out it says which lock and what to do. apt-get's output goes to stderr.
set -uo pipefail

timeout=$1
shift
deadline=$((SECONDS + timeout))
errors=$(mktemp) # what apt-get printed
trap 'rm -f "$errors"' EXIT

shown=yes
while :; do
  # Its output to stderr as it comes (apt's "Waiting for cache lock: ... held by process N" shows
  # while it waits, in a pipe or log too), and kept, to tell a lock from other failures. A run
  # again for the lists lock is kept only, and shown if it is the last.
  if [ "$shown" = yes ]; then
    "$@" 2>&1 | tee "$errors" >&2
    status=${PIPESTATUS[0]}
  else
    "$@" >"$errors" 2>&1
    status=$?
  fi
  [ "$status" -eq 0 ] && exit 0
  if grep -q '^E: Could not get lock .*lists/lock' "$errors" && [ "$SECONDS" -lt "$deadline" ]; then
    [ "$shown" = yes ] && echo "setup: waiting for the apt lists lock (another apt-get update), up to ${timeout} s" >&2
    shown=no
    sleep 1 # apt has no wait for this lock: look again
    continue
  fi
  break
done
[ "$shown" = yes ] || cat "$errors" >&2

# apt-get's errors (E: lines) name the lock it could not get; its waiting lines do too, and do not count.
if grep -q -E '^E: (Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock)' "$errors"; then
  echo "setup: gave up after ${timeout} s waiting for another apt or dpkg to finish (the lock apt-get named above)." >&2
  echo "setup: wait for it (ps -C apt,apt-get,dpkg,unattended-upgr) and run this again, or allow longer: SETUP_APT_LOCK_TIMEOUT=SECONDS." >&2
else
  echo "setup: apt-get failed (exit $status): $*" >&2
fi
exit "$status"
