#!/usr/bin/env bash
# install.sh — install ssh-dispatch from this checkout.
#
# Usage:
#   ./install.sh [--prefix DIR] [--etc DIR] [--log-dir DIR] [--logrotate-dir DIR] [--account NAME]...
#                [--commands-user NAME]
#   ./install.sh --uninstall [--prefix DIR] [--logrotate-dir DIR]
#   ./install.sh --help
#
#   --prefix DIR         program files go to DIR/lib/ssh-dispatch, the command to DIR/bin
#                        (default /usr/local)
#   --etc DIR            configuration directory; policies live in DIR/policies
#                        (default: what the last install recorded, else /etc/ssh-dispatch)
#   --log-dir DIR        audit log directory (default: what the last install recorded, else
#                        /var/log/ssh-dispatch)
#   --logrotate-dir DIR  where the logrotate snippet goes (default: what the last install
#                        recorded, else /etc/logrotate.d, skipped if that does not exist)
#   A directory given here (or recorded by an earlier install) that is missing is an error:
#   --logrotate-dir must exist; --etc and --log-dir are created, but not the directories above
#   them; a recorded --etc or --log-dir must still exist.
#   --account NAME       an account other than root whose keys run ssh-dispatch: give it its own
#                        audit log beside root's (LOG_DIR/audit.NAME.jsonl, owned by it; root's
#                        logs, summary and status read it too) and its own compile cache
#                        directory (each connection then starts ~6 ms faster); repeatable
#   --commands-user NAME for a fleet (docs/fleet.md): the account sshd runs
#                        `ssh-dispatch authorized-keys-command` as (AuthorizedKeysCommandUser):
#                        created as a system account without a shell or home if missing, with its
#                        own compile cache directory; a dedicated one, since any process of the
#                        same account could tamper with the answer (usually ssh-dispatch);
#                        --uninstall keeps the account (userdel NAME removes it)
#   --uninstall          remove exactly what earlier installs put in place (the manifest), the
#                        logrotate snippet included; policies and audit logs are kept
#
# What it does, and nothing else:
#   - builds dist/ if needed (run `npm ci` first; it needs the dev dependencies);
#   - copies the launcher and the bundle to PREFIX/lib/ssh-dispatch, with a Node runtime: the
#     system's if it is >= 22.15, otherwise the one npm installed (node_modules/node);
#   - writes PREFIX/bin/ssh-dispatch, a two-line launcher;
#   - creates ETC/policies (root-owned, writable by nobody else) if missing, and copies the
#     commented examples to PREFIX/share/ssh-dispatch/examples (not into the live policy) and
#     the policy JSON Schema to PREFIX/share/ssh-dispatch/schema;
#   - copies the audit record's JSON Schema beside it (docs/audit.md);
#   - installs the man pages ssh-dispatch(8) and ssh-dispatch-policy(5) to PREFIX/share/man and
#     bash completion to PREFIX/share/bash-completion/completions/ssh-dispatch;
#   - creates the log directory (mode 2750, group adm: a monitoring agent in group adm reads the
#     logs) and a logrotate snippet, if missing;
#   - records every file it wrote (and those an earlier run wrote that are still there), with
#     the --etc, --log-dir and --logrotate-dir it used, in PREFIX/lib/ssh-dispatch/MANIFEST; a
#     later run (with the same --prefix) uses them unless given others;
#   - records --etc and --log-dir for the installed command in PREFIX/lib/ssh-dispatch/installed.conf
#     (0644, owned by who installs): its default policy is ETC/policies and its default audit
#     log LOG_DIR/audit.jsonl, so neither key lines nor admin commands need --policy.
# Prerequisite it checks for but does not install: bubblewrap (/usr/bin/bwrap), the sandbox rsync
# and sftp rules run in (apt-get install bubblewrap); without it their requests are refused.
# It never edits sshd_config or authorized_keys: it prints what to add. Running it again
# replaces the program and leaves configuration, policies and logs as they are (and where they are).
# Before it replaces anything, the new build validates the applied policy (ssh-dispatch reapply):
# if it refuses it, nothing is installed and the installed build keeps serving (exit 1).
set -euo pipefail

prefix=/usr/local
etc=
log_dir=
logrotate_dir=
uninstall=0
accounts=()
commands_user=

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --etc) etc=${2:?--etc needs a directory}; shift 2 ;;
    --log-dir) log_dir=${2:?--log-dir needs a directory}; shift 2 ;;
    --logrotate-dir) logrotate_dir=${2:?--logrotate-dir needs a directory}; shift 2 ;;
    --account) accounts+=("${2:?--account needs an account name}"); shift 2 ;;
    --commands-user) commands_user=${2:?--commands-user needs an account name}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$prefix" in /*) ;; *) die "$prefix: give an absolute path" ;; esac

libdir=$prefix/lib/ssh-dispatch
manifest=$libdir/MANIFEST

# Where each directory came from: given now (wins), recorded by an earlier install, or the default.
etc_from=--etc log_dir_from=--log-dir logrotate_from=--logrotate-dir
if [ "$uninstall" = 0 ] && [ -f "$manifest" ]; then
  while IFS= read -r line; do
    case "$line" in
      '#etc='*) [ -n "$etc" ] || { etc=${line#\#etc=}; etc_from=$manifest; } ;;
      '#log-dir='*) [ -n "$log_dir" ] || { log_dir=${line#\#log-dir=}; log_dir_from=$manifest; } ;;
      '#logrotate-dir='*) [ -n "$logrotate_dir" ] || { logrotate_dir=${line#\#logrotate-dir=}; logrotate_from=$manifest; } ;;
    esac
  done < "$manifest"
fi
[ -n "$etc" ] || { etc=/etc/ssh-dispatch; etc_from=; }
[ -n "$log_dir" ] || { log_dir=/var/log/ssh-dispatch; log_dir_from=; }
[ -n "$logrotate_dir" ] || { logrotate_dir=/etc/logrotate.d; logrotate_from=; }
for dir in "$etc" "$log_dir" "$logrotate_dir"; do
  case "$dir" in /*) ;; *) die "$dir: give an absolute path" ;; esac
  # One line each in the MANIFEST and installed.conf.
  case "$dir" in *$'\n'*) die "a directory name with a newline: not supported" ;; esac
done

if [ "$uninstall" = 1 ]; then
  [ -f "$manifest" ] || die "nothing to uninstall: no $manifest"
  # Lines starting with # are the install's settings (#etc=DIR, #log-dir=DIR), the rest paths.
  while IFS= read -r line; do
    case "$line" in
      '#etc='*) etc=${line#\#etc=} ;;
      '#log-dir='*) log_dir=${line#\#log-dir=} ;;
      '#'*|'') ;;
      *) rm -f -- "$line" && echo "removed $line" ;;
    esac
  done < "$manifest"
  rm -f -- "$manifest"
  rm -rf -- "$libdir/.compile-cache"
  for dir in "$libdir" "$prefix/share/ssh-dispatch/examples" "$prefix/share/ssh-dispatch/schema" "$prefix/share/ssh-dispatch" \
    "$prefix/share/man/man8" "$prefix/share/man/man5" "$prefix/share/man" \
    "$prefix/share/bash-completion/completions" "$prefix/share/bash-completion"; do
    rmdir -- "$dir" 2>/dev/null || true  # only if empty: others' pages and completions stay
  done
  echo "kept: $etc (policies) and $log_dir (audit logs); remove them yourself if you want them gone"
  exit 0
fi

cd "$(dirname "$0")"

# A directory it was told to use is used, never made up nor skipped: a typo or an unmounted disk
# must not put the logs (or the policies) somewhere else. The defaults are created as before.
wanted_dir() { # wanted_dir DIR FROM FLAG: DIR is created, the directory above it must exist
  local dir=$1 from=$2 flag=$3
  case "$from" in
    '') ;;
    --*) [ -d "$(dirname "$dir")" ] || die "$flag $dir: $(dirname "$dir") does not exist (install.sh creates $dir, not the directories above it)" ;;
    *) [ -d "$dir" ] || die "$dir, recorded in $from by an earlier install, does not exist: create it, or give $flag DIR to use another" ;;
  esac
}
wanted_dir "$etc" "$etc_from" --etc
wanted_dir "$log_dir" "$log_dir_from" --log-dir
if [ -n "$logrotate_from" ] && [ ! -d "$logrotate_dir" ]; then
  case "$logrotate_from" in
    --*) die "--logrotate-dir $logrotate_dir: no such directory (the logrotate snippet goes there)" ;;
    *) die "$logrotate_dir, recorded in $logrotate_from by an earlier install, does not exist: create it, or give --logrotate-dir DIR to use another" ;;
  esac
fi

# A directory others can write to would let them replace what ssh-dispatch runs or reads
# (the same stance as the policy loader's StrictModes check).
check_dir() {
  local dir=$1
  while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
  while :; do
    local mode
    mode=$(stat -c '%a' "$dir")
    if [ $(( 8#$mode & 8#022 )) -ne 0 ] && [ $(( 8#$mode & 8#1000 )) -eq 0 ]; then
      die "$dir is writable by group or others (mode $mode): refusing to install below it"
    fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
}
for dir in "$prefix" "$etc" "$log_dir"; do check_dir "$dir"; done

# The runtime: the system's Node when it has process.execve (>= 22.15), else npm's.
node_ok() { "$1" -e 'process.exit(typeof process.execve === "function" ? 0 : 1)' 2>/dev/null; }
runtime=
if command -v node >/dev/null && node_ok "$(command -v node)"; then
  runtime=$(command -v node)
elif [ -x node_modules/node/bin/node ] && node_ok node_modules/node/bin/node; then
  runtime=node_modules/node/bin/node
else
  die "no Node.js >= 22.15: run 'npm ci' here first (it installs Node 24 from the npm registry)"
fi
echo "runtime: $runtime ($("$runtime" --version))"

if [ ! -f dist/ssh-dispatch.cjs ] || [ ! -f dist/ssh-dispatch-core.cjs ] || [ ! -f dist/ssh-dispatch-serve.cjs ] || [ ! -f dist/ssh-dispatch-files.cjs ] ||
   [ ! -f dist/man/ssh-dispatch.8 ] || [ ! -f dist/man/ssh-dispatch-policy.5 ] || [ ! -f dist/completion/ssh-dispatch ]; then
  [ -x node_modules/.bin/esbuild ] || die "dist/ is not built and the dev dependencies are missing: run 'npm ci' first"
  "$runtime" scripts/build.mjs
fi

# Upgrades lock nobody out: keys serve the applied policy, and a build never reads what another
# compiled. The new build validates the applied version before it replaces the old one; if it
# refuses it, nothing is installed and the old build keeps serving. From an install older than
# `apply` (its keys served the files directly), the files are adopted as version 1. Only from
# one: the MANIFEST of an install that served applied versions says so (#serves=applied), and
# there applied versions that are gone (deleted by mistake) leave every key refused until
# `ssh-dispatch apply`, rather than serve the files as they are, unreviewed, at an upgrade.
policy_dir=$etc/policies
serves_applied='#serves=applied'
if [ -d "$policy_dir" ]; then
  adopt=()
  if [ -f "$manifest" ] && ! grep -qxF -- "$serves_applied" "$manifest" && [ ! -e "$policy_dir/.ssh-dispatch-applied" ] &&
    compgen -G "$policy_dir/*.y*ml" >/dev/null; then adopt=(--adopt); fi
  if ! "$runtime" dist/ssh-dispatch.cjs reapply --policy "$policy_dir" "${adopt[@]}"; then
    die "the new build refuses the policy served from $policy_dir (above): nothing was installed, the installed build keeps serving it. Fix the policy, 'ssh-dispatch apply' it, and install again"
  fi
fi

umask 022
install -d -m 0755 "$libdir" "$prefix/bin" "$prefix/share/ssh-dispatch/examples" "$prefix/share/ssh-dispatch/schema" \
  "$prefix/share/man/man8" "$prefix/share/man/man5" "$prefix/share/bash-completion/completions"
# What an earlier install listed: files this run leaves in place (the logrotate snippet, written
# only if missing) or no longer writes (the runtime, once the system's will do) stay listed, so
# that --uninstall still removes them.
previous=()
[ -f "$manifest" ] && mapfile -t previous < "$manifest"
printf '#etc=%s\n#log-dir=%s\n%s\n' "$etc" "$log_dir" "$serves_applied" > "$manifest.new"
[ ! -d "$logrotate_dir" ] || printf '#logrotate-dir=%s\n' "$logrotate_dir" >> "$manifest.new"
put() { # put MODE SOURCE DEST
  install -m "$1" "$2" "$3.tmp" && mv -f "$3.tmp" "$3"
  echo "$3" >> "$manifest.new"
}
put 0755 dist/ssh-dispatch.cjs "$libdir/ssh-dispatch.cjs"
put 0644 dist/ssh-dispatch-core.cjs "$libdir/ssh-dispatch-core.cjs"
put 0644 dist/ssh-dispatch-serve.cjs "$libdir/ssh-dispatch-serve.cjs"
put 0644 dist/ssh-dispatch-files.cjs "$libdir/ssh-dispatch-files.cjs"
# Read by the installed command at every start (src/installed.ts): its default policy and log.
printf '# Written by install.sh: the defaults of the installed ssh-dispatch (--etc, --log-dir).\netc=%s\nlog-dir=%s\n' \
  "$etc" "$log_dir" > "$libdir/installed.conf.tmp"
chmod 0644 "$libdir/installed.conf.tmp"
mv -f "$libdir/installed.conf.tmp" "$libdir/installed.conf"
echo "$libdir/installed.conf" >> "$manifest.new"
case "$runtime" in
  node_modules/*) put 0755 "$runtime" "$libdir/node"; node_path=$libdir/node ;;
  *) node_path=$runtime ;;
esac
printf '#!/bin/sh\nexec %s %s "$@"\n' "$node_path" "$libdir/ssh-dispatch.cjs" > "$prefix/bin/ssh-dispatch.tmp"
chmod 0755 "$prefix/bin/ssh-dispatch.tmp"
mv -f "$prefix/bin/ssh-dispatch.tmp" "$prefix/bin/ssh-dispatch"
echo "$prefix/bin/ssh-dispatch" >> "$manifest.new"
for example in policies/*.yaml; do
  put 0644 "$example" "$prefix/share/ssh-dispatch/examples/$(basename "$example")"
done
# The examples name ../schema/policy.schema.json for editors with a YAML language server.
put 0644 schema/policy.schema.json "$prefix/share/ssh-dispatch/schema/policy.schema.json"
# The audit record's format, for log consumers (docs/audit.md).
put 0644 schema/audit.schema.json "$prefix/share/ssh-dispatch/schema/audit.schema.json"
put 0644 dist/man/ssh-dispatch.8 "$prefix/share/man/man8/ssh-dispatch.8"
put 0644 dist/man/ssh-dispatch-policy.5 "$prefix/share/man/man5/ssh-dispatch-policy.5"
put 0644 dist/completion/ssh-dispatch "$prefix/share/bash-completion/completions/ssh-dispatch"
for path in "${previous[@]}"; do
  case "$path" in '#'*|'') continue ;; esac
  [ -e "$path" ] && ! grep -qxF -- "$path" "$manifest.new" && echo "$path" >> "$manifest.new"
done
mv -f "$manifest.new" "$manifest"

# Node's compile cache, one directory per account (the launcher creates root's itself). An
# account's own: the launcher uses a cache only where root or that account alone can write.
install -d -m 0755 "$libdir/.compile-cache"
[ "${#accounts[@]}" = 0 ] || [ "$(id -u)" = 0 ] || die "--account needs root (the directory is made over to the account)"
if [ -n "$commands_user" ]; then
  [ "$(id -u)" = 0 ] || die "--commands-user needs root"
  case "$commands_user" in [a-z_]*) ;; *) die "--commands-user $commands_user: expected an account name" ;; esac
  if ! id -u "$commands_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$commands_user"
    echo "created the system account $commands_user (sshd runs the login commands as it)"
  fi
  uid=$(id -u "$commands_user")
  [ "$uid" = 0 ] || install -d -m 0700 -o "$uid" -g "$(id -g "$commands_user")" "$libdir/.compile-cache/$uid"
fi
for account in "${accounts[@]}"; do
  uid=$(id -u "$account") || die "--account $account: no such account"
  [ "$uid" != 0 ] || continue
  install -d -m 0700 -o "$uid" -g "$(id -g "$account")" "$libdir/.compile-cache/$uid"
  echo "compile cache for $account: $libdir/.compile-cache/$uid"
done

# Configuration and logs: created when missing, never overwritten.
if [ ! -d "$etc/policies" ]; then
  install -d -m 0755 "$etc" "$etc/policies"
  echo "created $etc/policies (empty: every request is denied until you add a policy)"
fi
adm_group=root
getent group adm >/dev/null 2>&1 && adm_group=adm
if [ ! -d "$log_dir" ]; then
  # Group adm, set-group-ID: every log created in it is group adm, 0640, so a monitoring agent
  # in group adm (ssh-dispatch status) reads the logs without being root.
  if [ "$(id -u)" = 0 ]; then install -d -m 2750 -g "$adm_group" "$log_dir"; else install -d -m 0750 "$log_dir"; fi
  echo "created $log_dir"
fi
# An account's records go to a log of its own beside root's (audit.NAME.jsonl), owned by it: it
# can append there, and cannot alter root's records or another account's. The directory lets
# accounts through (o+x) but not list it or write in it.
for account in "${accounts[@]}"; do
  [ "$(id -u "$account")" != 0 ] || continue
  chmod o+x "$log_dir"
  account_log="$log_dir/audit.$account.jsonl"
  if [ ! -e "$account_log" ]; then
    install -m 0640 -o "$account" -g "$adm_group" /dev/null "$account_log"
    echo "created $account_log (the audit log of $account's connections; root's logs, summary and status read it too)"
  fi
  # Its running sessions, for max-sessions and single-run (docs/policy.md, "Limits"): its own, 0700.
  if [ ! -d "$log_dir/sessions.$account" ]; then
    install -d -m 0700 -o "$account" -g "$(id -g "$account")" "$log_dir/sessions.$account"
    echo "created $log_dir/sessions.$account (where max-sessions and single-run count $account's sessions)"
  fi
done
[ -d "$logrotate_dir" ] || echo "no $logrotate_dir: no logrotate snippet written (give --logrotate-dir DIR for another place)"
if [ -d "$logrotate_dir" ] && [ ! -e "$logrotate_dir/ssh-dispatch" ]; then
  cat > "$logrotate_dir/ssh-dispatch" <<EOF
# ssh-dispatch opens the audit log anew for every connection, so rotating by rename is safe.
$log_dir/*.jsonl {
    weekly
    rotate 26
    compress
    delaycompress
    missingok
    notifempty
    # Each file is recreated with its own owner, group and mode: root's, and each account's.
    create
}
EOF
  grep -qxF -- "$logrotate_dir/ssh-dispatch" "$manifest" || echo "$logrotate_dir/ssh-dispatch" >> "$manifest"
  echo "created $logrotate_dir/ssh-dispatch"
elif [ "${#accounts[@]}" != 0 ] && [ -f "$logrotate_dir/ssh-dispatch" ] && grep -q '^ *create 0640 root adm$' "$logrotate_dir/ssh-dispatch"; then
  # An earlier install's snippet would recreate the accounts' logs as root's.
  sed -i 's/^\( *\)create 0640 root adm$/\1create/' "$logrotate_dir/ssh-dispatch"
  echo "updated $logrotate_dir/ssh-dispatch: logs are recreated with their own owner (create), so accounts keep theirs"
fi

cat <<EOF

Installed ssh-dispatch in $libdir, command $prefix/bin/ssh-dispatch.

Next:
  The installed command reads its policy from $etc/policies and logs to $log_dir/audit.jsonl
  (unless a policy sets audit.file), with no --policy: install.sh recorded both in
  $libdir/installed.conf.
  1. Write a policy in $etc/policies/ (examples: $prefix/share/ssh-dispatch/examples/), then,
     as root:
       $prefix/bin/ssh-dispatch check
       $prefix/bin/ssh-dispatch apply
     Keys serve only an applied policy: edits reach them at the next apply.
  2. Ask what a connection would get:
       $prefix/bin/ssh-dispatch explain --id ID -- 'COMMAND'
  3. Print the authorized_keys line for a key, and add it yourself:
       $prefix/bin/ssh-dispatch authorized-key --id ID --command $prefix/bin/ssh-dispatch KEY.pub
  4. In sshd_config (this script does not edit it): PermitUserEnvironment no (the default),
     ExposeAuthInfo yes (key fingerprints in every record), and for root backups
     PermitRootLogin forced-commands-only. Reload sshd after editing.
  Or, with one policy as the only list of keys (docs/fleet.md), the sshd_config lines:
       $prefix/bin/ssh-dispatch authorized-key --sshd-config --user ${commands_user:-ssh-dispatch} --command $prefix/bin/ssh-dispatch
EOF
if [ "$log_dir" != /var/log/ssh-dispatch ]; then
  echo "  The examples set audit.file to /var/log/ssh-dispatch/audit.jsonl: in your copy, delete that line (the default is then $log_dir/audit.jsonl) or change it."
fi
if [ "$(id -u)" != 0 ]; then
  echo "  Not run as root: make $log_dir writable by the accounts whose keys use ssh-dispatch."
fi
if [ ! -x /usr/bin/bwrap ]; then
  echo "  bubblewrap is missing: rsync and sftp rules (and exec rules with sandbox:) run in its sandbox and are refused without it. Install it: apt-get install bubblewrap"
fi
