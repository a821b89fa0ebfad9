/**
 * The backup run: the text the backup container's shell executes (busybox sh in the restic image). Fixed text:
 * every value from the Backup reaches it as an environment variable or a positional argument (the shop's folders),
 * always quoted, so no spec value is ever read as shell code. Its result is the termination message (see
 * run-result.ts), a small versioned JSON document the operator parses in one place.
 */
import { PARTIAL_RUN_REASON } from './run-result';
import { CLASSIFY_SH, JSON_TEXT_SH } from './shell-words';

export const BACKUP_SCRIPT = String.raw`# mall-backup run (POSIX sh: BusyBox in the restic image, and in the tests).
# Fixed text: every value comes from the environment or the arguments (the shop's folders), always quoted.
# Optional settings, read before set -u: the pod spec leaves out the empty ones (the API server drops empty values
# anyway). Read by the shell itself, not printenv: that is no applet of every BusyBox build, and a missing one would
# silently drop the retention floor and the acknowledgement.
KEEP_DAILY=$KEEP_DAILY KEEP_WEEKLY=$KEEP_WEEKLY KEEP_MONTHLY=$KEEP_MONTHLY
RETENTION_FLOOR=$RETENTION_FLOOR SHRINK_ACK=$SHRINK_ACK
set -u
umask 077
state=$RUN_STATE
child=
stopping=
# The kubelet sends SIGTERM; restic removes its lock only when it stops on its own, so pass SIGINT on and wait.
# TERM as well: a background child of a non-interactive shell starts with SIGINT ignored, and restic (which treats
# both alike) may not have installed its handler yet; before that, TERM ends it with no lock taken.
trap 'stopping=1; if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi' TERM INT

log() { echo "mall-backup: $*" >&2; }

# run NAME restic-args...: restic as a child with stdout and stderr filtered through bounded readers (no
# progress lines kept, at most a few hundred lines, error items counted). Sets rc.
run() {
  name=$1
  shift
  rm -f "$state/o" "$state/e" "$state/$name.items"
  # A stop that came between two calls (no child to pass it to) ends the run here: no restic starts after it.
  if [ -n "$stopping" ]; then rc=130; : >"$state/$name.out"; : >"$state/$name.err"; return 0; fi
  mkfifo "$state/o" "$state/e"
  awk '/"message_type":"(status|verbose_status)"/ { next } { if (n++ < 200) print }' <"$state/o" >"$state/$name.out" &
  r1=$!
  rm -f "$state/fault" "$state/pid"
  # restic retries a failing vault for 15 minutes; a vault that is read-only, full or refusing us will not heal in
  # that time, so the first such retry stops restic (SIGINT: its lock goes) and becomes the run's cause. A vault that
  # cannot be reached at all when the run opens it gets five retries (about 15 seconds), not 15 minutes: the Job's
  # own retries come later; once a run is under way, restic's patience with a passing outage is kept.
  patience=0
  if [ "$name" = config ]; then patience=5; fi
  awk -v items="$state/$name.items" -v fault="$state/fault" -v pidfile="$state/pid" -v patience="$patience" '
    function stop(line) {
      if (!saved) { saved = 1; sub(/.*retrying after [^:]*: /, "", line); print line > fault; close(fault) }
      # The pid file may not be written yet: try again at the next retry line.
      if ((getline pid < pidfile) > 0) { stopped = 1; system("kill -INT " pid) }
      close(pidfile)
    }
    /returned error, retrying/ && !stopped {
      t = tolower($0)
      if (t ~ /read-only file system|no space left|quota ?exceeded|permission denied/ ||
        t ~ /access ?denied|x509:|certificate/) stop($0)
      else if (patience > 0 &&
        t ~ /connection refused|no such host|network is unreachable|i\/o timeout|dial tcp|no route to host/ &&
        ++unreachable >= patience) stop($0)
    }
    /"message_type":"error"/ {
      errors++
      if (errors <= 5 && match($0, /"item":"([^"\\]|\\.)*"/)) print substr($0, RSTART + 8, RLENGTH - 9) > items
      next
    }
    { if (n++ < 40) print }
    END { print errors + 0 > (items ".count") }' <"$state/e" >"$state/$name.err" &
  r2=$!
  restic "$@" >"$state/o" 2>"$state/e" &
  child=$!
  # The trap may have run between the fork and the line above, with no child to stop yet.
  if [ -n "$stopping" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi
  echo "$child" >"$state/pid"
  while :; do
    wait "$child"
    rc=$?
    if [ -z "$stopping" ] || ! kill -0 "$child" 2>/dev/null; then break; fi
  done
  child=
  wait "$r1" "$r2"
  rm -f "$state/o" "$state/e"
  return 0
}

# pause SECONDS, cut short by SIGTERM.
pause() {
  [ -z "$stopping" ] || return 0
  sleep "$1" &
  child=$!
  [ -z "$stopping" ] || kill "$child" 2>/dev/null
  wait "$child"
  kill "$child" 2>/dev/null
  child=
}

# locked NAME restic-args...: run NAME, again while restic finds the vault locked (exit 11), for up to
# LOCK_WAIT_SECONDS in all. Not restic's --retry-lock: that retries on a fixed schedule (5 s, doubling to 60 s), so
# the runs of one vault that start in the same second (their CronJobs fire in the same minute) retry in the same
# instant, and two that take an exclusive lock (forget) each find the other's lock, both step back, and meet again
# at every retry until the wait runs out. Each wait here is drawn at random up to a ceiling that doubles from 5 s to
# 60 s (full jitter), so the runs spread out and take the lock in turn. Sets rc; sets waited once the vault was locked.
locked() {
  name=$1
  shift
  lock_deadline=$(($(date +%s) + LOCK_WAIT_SECONDS))
  ceiling=5000
  while :; do
    run "$name" "$@"
    if [ "$rc" != 11 ] || [ -n "$stopping" ]; then return 0; fi
    waited=true
    left=$(((lock_deadline - $(date +%s)) * 1000))
    if [ "$left" -le 0 ]; then return 0; fi
    # Milliseconds from the kernel's random source: date +%s would give runs started together the same draw.
    ms=$(($(od -An -N2 -tu2 /dev/urandom) * ceiling / 65535))
    if [ "$ms" -gt "$left" ]; then ms=$left; fi
    delay=$((ms / 1000)).$(printf %03d $((ms % 1000)))
    log "the vault is locked ($name): trying again in $delay s"
    pause "$delay"
    ceiling=$((ceiling * 2))
    if [ "$ceiling" -gt 60000 ]; then ceiling=60000; fi
  done
}

${JSON_TEXT_SH}

# The first line of restic's complaint in NAME's stderr: the exit_error message of a --json run or the Fatal line,
# never a stack trace.
complaint() {
  if [ -s "$state/fault" ]; then rc=1; head -n 1 "$state/fault"; return; fi
  awk '
    /"message_type":"exit_error"/ && match($0, /"message":"([^"\\]|\\.)*"/) {
      m = substr($0, RSTART + 11, RLENGTH - 12); sub(/\\n.*/, "", m); gsub(/\\"/, "\"", m); print m; exit
    }
    /^Fatal: / || /^[A-Za-z].*(error|denied|failed|refused)/ { print; exit }' "$state/$1.err"
}

${CLASSIFY_SH}

snapshot=
stats=
unreadable=
retention=
removed=0
waited=false

finish() {
  outcome=$1 reason=$2 message=$3
  {
    printf '{"v":1,"outcome":"%s","reason":"%s","message":%s' "$outcome" "$reason" "$(json_text "$message")"
    if [ -n "$snapshot" ]; then printf ',"snapshot":"%s"' "$snapshot"; fi
    if [ -n "$stats" ]; then printf ',"stats":%s' "$stats"; fi
    if [ -n "$unreadable" ]; then printf ',"unreadable":%s' "$unreadable"; fi
    if [ -n "$retention" ]; then printf ',"retention":"%s","removed":%s' "$retention" "$removed"; fi
    printf ',"lockWaited":%s}' "$waited"
  } >"$state/message"
  cat "$state/message" >"$TERMINATION_LOG" 2>/dev/null || true
  log "$outcome ($reason): $message"
  if [ "$outcome" = Failed ]; then exit 1; fi
  exit 0
}

failed() {
  why=$(complaint "$1")
  if [ -s "$state/fault" ]; then rc=1; fi
  reason=$(classify "$why")
  case $reason in
    VaultNotInitialized) why="the vault has no repository yet (the operator creates it once per vault)" ;;
    VaultLocked)
      why="the vault stayed locked for $LOCK_WAIT by another restic (maintenance or a run that did not finish): $why" ;;
    WrongPassword)
      why="the vault's password (RESTIC_PASSWORD in the credentials Secret) does not open the repository" ;;
    Interrupted) why="the run was stopped (pod terminated); restic removed its lock" ;;
  esac
  finish Failed "$reason" "$2: $why"
}

if [ -n "$stopping" ]; then finish Failed Interrupted "stopped before it started"; fi

# The vault must exist: it is created once, by the operator. restic unlock answers that without taking a lock (exit
# 10: no repository), so a locked vault answers too, and in the same call (one key derivation, which is most of
# what a call costs) it removes locks whose holder is gone (same host and process gone, or not refreshed for 30
# minutes); live ones stay. A missing repository is waited for (bounded), everything else fails with its cause.
deadline=$(($(date +%s) + VAULT_WAIT_SECONDS))
while :; do
  run config unlock
  [ "$rc" = 0 ] && break
  # Stopped while asking or waiting: the stop is the cause, whatever restic answered.
  if [ -n "$stopping" ]; then rc=130; failed config "opening the vault"; fi
  # Opened, but a lock could not be cleared (another run removed it first, say): the backup still runs and meets
  # any real fault itself. Missing repository (10), wrong password (12) and a vault that refuses (fault) end here.
  if [ "$rc" = 1 ] && [ ! -s "$state/fault" ]; then
    log "restic unlock: $(complaint config)"
    break
  fi
  if [ "$rc" != 10 ] || [ "$(date +%s)" -ge "$deadline" ]; then failed config "opening the vault"; fi
  log "the vault has no repository yet: waiting for the operator to create it"
  pause 5
done

locked backup backup --json --host "$SHOP_NAME" --tag "shop=$SHOP_NAME" --tag "backup=$BACKUP_REF" "$@"
if [ "$rc" = 11 ] && [ -z "$stopping" ]; then
  # The holder may have died while we waited: clear stale locks once and wait once more.
  run unlock unlock
  locked backup backup --json --host "$SHOP_NAME" --tag "shop=$SHOP_NAME" --tag "backup=$BACKUP_REF" "$@"
fi
summary=$(grep '"message_type":"summary"' "$state/backup.out" | tail -n 1)
num() {
  printf '%s\n' "$summary" | awk -v k="\"$1\":" '{
    i = index($0, k); if (i == 0) { print 0; exit }
    s = substr($0, i + length(k)); if (!match(s, /^[0-9.]+/)) { print 0; exit }
    print substr(s, 1, RLENGTH)
  }'
}
snapshot=$(printf '%s\n' "$summary" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p')
if [ -n "$snapshot" ]; then
  stats=$(printf '{"filesNew":%s,"filesChanged":%s,"bytesAdded":%s,' "$(num files_new)" "$(num files_changed)" \
    "$(num data_added)"
    printf '"totalFiles":%s,"totalBytes":%s,"durationSeconds":%s}' "$(num total_files_processed)" \
    "$(num total_bytes_processed)" "$(num total_duration)")
  log "snapshot $snapshot saved"
fi
partial=
if [ "$rc" = 3 ] && [ -n "$snapshot" ]; then
  partial=$(cat "$state/backup.items.count")
  unreadable=$(awk -v n="$partial" '
    BEGIN { printf "{\"count\":%d,\"paths\":[", n }
    length($0) <= 200 { printf "%s\"%s\"", (k++ ? "," : ""), $0 }
    END { printf "]}" }' "$state/backup.items" 2>/dev/null)
elif [ "$rc" != 0 ] || [ -z "$snapshot" ]; then
  failed backup "backing up"
fi

report() {
  if [ -n "$partial" ]; then
    finish PartiallyFailed ${PARTIAL_RUN_REASON} "snapshot $snapshot saved without $partial unreadable file(s); $1"
  fi
  finish Completed "$2" "snapshot $snapshot saved; $1"
}
if [ -n "$stopping" ]; then retention=skipped; report "retention skipped: the run was stopped" Interrupted; fi

filter="shop=$SHOP_NAME,backup=$BACKUP_REF"
# The policy is computed without a lock, then only the named snapshots are forgotten: never the one just written
# (whatever the clocks say), never one younger than the cluster's floor; pruning is per-vault maintenance.
set -- --keep-last "$KEEP_LAST"
if [ -n "$RETENTION_FLOOR" ]; then set -- "$@" --keep-within "$RETENTION_FLOOR"; fi
if [ -n "$KEEP_DAILY" ]; then set -- "$@" --keep-daily "$KEEP_DAILY"; fi
if [ -n "$KEEP_WEEKLY" ]; then set -- "$@" --keep-weekly "$KEEP_WEEKLY"; fi
if [ -n "$KEEP_MONTHLY" ]; then set -- "$@" --keep-monthly "$KEEP_MONTHLY"; fi
run policy --no-lock forget --dry-run --json --host "$SHOP_NAME" --tag "$filter" --group-by host,tags "$@"
if [ -n "$stopping" ]; then retention=skipped; report "retention skipped: the run was stopped" Interrupted; fi
if [ "$rc" != 0 ]; then retention=skipped; report "retention skipped: $(complaint policy)" RetentionSkipped; fi

# A drastic shrink against the reference snapshot (the largest of this Backup, or the one a person acknowledged)
# looks like a wiped or encrypted shop: keep every older snapshot until someone acknowledges it. The policy lists
# every snapshot of this Backup (kept or not) with restic's summary.
shrink=$(awk -v own="$snapshot" -v ack="$SHRINK_ACK" -v pct="$SHRINK_PERCENT" '
  function field(rec, key,   i, s) {
    i = index(rec, "\"" key "\":"); if (i == 0) return -1
    s = substr(rec, i + length(key) + 3); match(s, /^"?[0-9a-f]+/); s = substr(s, 1, RLENGTH); sub(/^"/, "", s)
    return s
  }
  { n = split($0, recs, /\{"time":/)
    for (j = 2; j <= n; j++) {
      id = field(recs[j], "id")
      f = field(recs[j], "total_files_processed") + 0; b = field(recs[j], "total_bytes_processed") + 0
      if (id == own) { of = f; ob = b; continue }
      # A whole ID or a prefix of 8+ hex digits: a shorter one ("a") would acknowledge whichever snapshot matched.
      if (length(ack) >= 8 && ack ~ /^[0-9a-f]+$/ && index(id, ack) == 1) { af = f; ab = b; acked = 1 }
      if (f > mf) mf = f
      if (b > mb) mb = b
    } }
  END {
    if (acked) { mf = af; mb = ab }
    if (of * 100 < mf * (100 - pct) || ob * 100 < mb * (100 - pct)) {
      printf "%d files, %d bytes against %d files, %d bytes", of, ob, mf, mb
      if (ack != "" && !acked)
        printf "; the acknowledged snapshot %s is not one of this Backup'"'"'s (give its ID, at least 8 hex digits)",
          substr(ack, 1, 64)
    }
  }' "$state/policy.out")
if [ -n "$shrink" ]; then
  retention=skipped-shrunk
  report "the shop shrank drastically ($shrink): retention skipped until the snapshot is acknowledged" \
    ShrinkUnacknowledged
fi
set -- $(awk -v own="$snapshot" '{
    n = split($0, groups, /"remove":/)
    for (g = 2; g <= n; g++) {
      s = groups[g]; sub(/"reasons":.*/, "", s)
      while (match(s, /"id":"[0-9a-f]+"/)) {
        id = substr(s, RSTART + 6, RLENGTH - 7); if (id != own) print id; s = substr(s, RSTART + RLENGTH)
      }
    } }' "$state/policy.out")
retention=applied
if [ "$#" -gt 0 ]; then
  locked forget forget "$@"
  # Stopped while waiting for a lock, restic reports a lock failure rather than 130: the stop is the cause.
  if [ -n "$stopping" ] && [ "$rc" != 0 ]; then rc=130; fi
  case $rc in
    0) removed=$# ;;
    11)
      waited=true; retention=deferred
      report "retention deferred: the vault stayed locked for $LOCK_WAIT" RetentionDeferred ;;
    130) retention=skipped; report "retention stopped: the run was stopped; restic removed its lock" Interrupted ;;
    *) retention=failed; report "retention failed: $(complaint forget)" RetentionFailed ;;
  esac
fi
report "retention removed $removed older snapshot(s)" BackupSucceeded
`;
