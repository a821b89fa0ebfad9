/**
 * The verification runs: proof that a Backup's vault can still be restored. Fixed text: every value reaches
 * them as an environment variable, always quoted, so no spec value is ever read as shell code. Two parts, run
 * by different Jobs (lib/run/verify-job.ts):
 *
 * 1. CHECK_SCRIPT, once per vault: `restic check --read-data-subset "$READ_DATA_SUBSET"`, the vault's
 *    structure and that subset of its pack files read back and hashed. check takes the vault's exclusive
 *    lock, so it waits (`--retry-lock`) for backups and prune instead of failing; backups wait for it with their
 *    own jittered retries, up to LOCK_WAIT per step (lib/run/backup-run.ts).
 * 2. TEST_RESTORE_SCRIPT, per Backup: a test restore of this Backup's newest snapshot (host and
 *    `shop=`/`backup=` tags, grouped so there is one newest) into scratch space with `restic restore
 *    --verify`, which reads every restored file back and compares its content with the snapshot's own SHA-256
 *    blob IDs; then the number of restored files is compared with the snapshot's own listing.
 *
 * The termination log gets `checked <subset>` or `verified <snapshot> <snapshot time> <files> <bytes>` (the
 * snapshot by restic's full ID, 64 hex digits: under 200 bytes in all), or, on failure, `failed <Reason> <words>`
 * with Reason one of VERIFY_FAILURE_REASONS (cut to 1 500 bytes): well within the kubelet's 4 KiB.
 */
export const VERIFY_FAILURE_REASONS = [
  'CheckFailed',
  'NoSnapshot',
  'TestRestoreFailed',
  'TestRestoreIncomplete',
  'ScratchTooSmall',
  'VaultLocked',
  'Interrupted',
] as const;

/** Share of the scratch filesystem the test restore leaves free: the kubelet's default disk-pressure threshold. */
export const SCRATCH_RESERVE_PERCENT = 10;

const PRELUDE = String.raw`set -u
report=${'$'}{TERMINATION_LOG:-/dev/termination-log}
: >"$report" 2>/dev/null || report=/dev/null
child=
stopping=
# The pod's PID 1 ignores a signal it has no handler for: without this trap a stop (Job deleted, deadline) would
# leave restic running until the kill at the end of the grace period, and its lock in the vault (the check's is
# exclusive: every backup would wait on it for 30 minutes). SIGTERM becomes SIGINT for restic, which then removes
# its lock; TERM as well, for a restic that has not yet installed its handler (a background child starts with
# SIGINT ignored).
trap 'stopping=1; if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi' TERM INT
fail() {
  reason=$1; shift; echo "mall-backup: $*" >&2
  printf 'failed %s %s\n' "$reason" "$(printf '%s' "$*" | tr '\n\r' '  ' | cut -c 1-1500)" >>"$report" 2>/dev/null
  exit 1
}
wait_lock=${'$'}{LOCK_WAIT:-30m}
# restic OUT ARGS...: in the background, so that the trap reaches it; stdout to OUT ("-": the log), its complaints
# kept for the reason (complaint, advice) and shown in the log. A stop, a lock held too long and a wrong password
# end the run with their own words; rc is restic's exit code otherwise.
run() {
  out=$1; shift
  if [ "$out" = - ]; then restic "$@" 2>"$TMPDIR/err" & else restic "$@" >"$out" 2>"$TMPDIR/err" & fi
  child=$!
  if [ -n "$stopping" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi
  while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done
  child=
  head -c 65536 "$TMPDIR/err" >&2
  if [ -n "$stopping" ]; then
    fail Interrupted "the verification was stopped (pod terminated) during restic $1; restic removed its lock"
  fi
  case $rc in
    11) fail VaultLocked "the vault stayed locked for $wait_lock by another restic (a long backup or prune, or one" \
      "that did not finish and left its lock: restic unlock clears it once its holder is gone);" \
      "restic $1 did not run" ;;
    12) fail "$part" "the vault's password (RESTIC_PASSWORD in the credentials Secret) does not open the repository" ;;
  esac
  return "$rc"
}
# The first line of restic's complaint naming what is wrong ("pack 1a2b...: does not exist"), and its advice.
complaint() {
  awk '/:[ \t]*$/ || /^Fatal: repository contains errors/ || /disabling cache/ { next }
    tolower($0) ~ /error|fail|does not exist|not found|invalid|denied|refused|no such|no space|unexpected/ ||
    tolower($0) ~ /unknown|wrong/ {
      sub(/^[ \t]+/, ""); print substr($0, 1, 400); found = 1; exit }
    END { if (!found) print "restic gave no reason (see the pod log)" }' "$TMPDIR/err"
}
advice() {
  awk '/^The repository/ { n = split($0, s, /\. /); t = s[1] "."; if (n > 1) t = t " " s[2]; sub(/\.\.$/, ".", t)
      print substr(t, 1, 300); found = 1; exit }
    END { if (!found) print "see restic check and restic repair (restic troubleshooting guide)" }' "$TMPDIR/err"
}
`;

export const CHECK_SCRIPT = `${PRELUDE}part=CheckFailed
# Locks whose holder is gone (a run killed outright: same host and process gone, or not refreshed for 30 minutes)
# would make the check wait for nothing; live ones stay.
run - unlock || echo "mall-backup: restic unlock: $(complaint)" >&2
run - check --retry-lock "$wait_lock" --read-data-subset "$READ_DATA_SUBSET" \\
  || fail CheckFailed "restic check found the vault damaged or unreadable: $(complaint); $(advice)" \\
    "(read subset $READ_DATA_SUBSET)"
printf 'checked %s\\n' "$READ_DATA_SUBSET" >>"$report" 2>/dev/null || true
`;

export const TEST_RESTORE_SCRIPT = `${PRELUDE}part=TestRestoreFailed
target="$TMPDIR/verify"
# Sets id, taken and size (bytes the backup read, when restic recorded it) of this Backup's newest snapshot.
newest() {
  run "$TMPDIR/latest.json" snapshots --json --retry-lock "$wait_lock" --host "$SHOP_NAME" \\
    --tag "shop=$SHOP_NAME,backup=$BACKUP_REF" --group-by host,tags --latest 1 \\
    || fail CheckFailed "cannot list the snapshots in the vault: $(complaint)"
  id=$(grep -o '"id":"[0-9a-f]*"' "$TMPDIR/latest.json" | head -n 1 | cut -d '"' -f 4)
  taken=$(grep -o '"time":"[^"]*"' "$TMPDIR/latest.json" | head -n 1 | cut -d '"' -f 4)
  size=$(grep -o '"total_bytes_processed":[0-9]*' "$TMPDIR/latest.json" | head -n 1 | cut -d : -f 2)
  nfiles=$(grep -o '"total_files_processed":[0-9]*' "$TMPDIR/latest.json" | head -n 1 | cut -d : -f 2)
  ndirs=$(grep -oE '"dirs_(new|changed|unmodified)":[0-9]+' "$TMPDIR/latest.json" | head -n 3 | cut -d : -f 2 |
    awk '{ n += $1 } END { printf "%d", n }')
}
# Read-only folders of the snapshot come back read-only: opened up first, or the Backup's user could not remove them.
clear_target() {
  if [ -e "$target" ]; then chmod -R u+rwx "$target" 2>/dev/null; rm -rf "$target" 2>/dev/null; fi
  return 0
}
# Room for the restore: what the scratch filesystem has free less a tenth of it (a node's disk at 90 % comes under
# disk pressure and evicts pods, other shops' among them), and within SCRATCH_LIMIT: the scratch volume's size or
# the Backup's ephemeral-storage limit, whichever is smaller (past either the pod is evicted). The kubelet counts
# disk blocks, not content: every file and folder takes up to a 4 KiB block more than its bytes (2 000 files of
# 10 bytes hold 20 kB and take 8 MB), so that is what is counted.
fits() {
  [ -n "$size" ] || return 0
  need=$(awk -v b="$size" -v f="\${nfiles:-0}" -v d="\${ndirs:-0}" 'BEGIN { printf "%.0f", b + (f + d) * 4096 }')
  room=$(df -Pk "$TMPDIR" | awk -v limit="\${SCRATCH_LIMIT:-}" -v keep=${SCRATCH_RESERVE_PERCENT} 'NR == 2 {
    r = ($4 - $2 * keep / 100) * 1024; if (limit != "" && limit * 0.9 < r) r = limit * 0.9; if (r < 0) r = 0
    printf "%.0f", r }')
  awk -v need="$need" -v room="$room" 'BEGIN { exit !(need + 0 <= room + 0) }' && return 0
  gib() { awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%.2f GiB", b / 1073741824
    else printf "%.2f MiB", b / 1048576 }'; }
  fail ScratchTooSmall "snapshot $id holds $(gib "$size") in \${nfiles:-0} files and \${ndirs:-0} folders, up to" \
    "$(gib "$need") on disk in 4 KiB blocks, more than the scratch space can take" \
    "($(gib "$room") after keeping ${SCRATCH_RESERVE_PERCENT}% of the node's disk free, within the scratch volume's" \
    "size and the Backup's resources.limits ephemeral-storage if set): nothing was restored; raise the operator's" \
    "verifyScratchSize (and that limit, if it is the smaller) or run on nodes with more ephemeral storage"
}
# Restores snapshot $id and compares; on a finding, why/why_reason say it and it returns 1.
attempt() {
  clear_target
  echo "test-restoring snapshot $id taken $taken"
  fits
  if ! run - restore --retry-lock "$wait_lock" "$id" --target "$target" --verify; then
    why_reason=TestRestoreFailed
    why="the test restore of snapshot $id did not restore every file with the content the snapshot records:"
    why="$why $(complaint)"
    return 1
  fi
  if ! run "$TMPDIR/listing.json" ls --json --retry-lock "$wait_lock" "$id"; then
    why_reason=TestRestoreFailed why="cannot list snapshot $id: $(complaint)"
    return 1
  fi
  expected=$(grep -c '"type":"file"' "$TMPDIR/listing.json")
  # One size per file, never a name: a name may hold a newline.
  set -- $(find "$target" -type f -exec stat -c %s {} + | awk '{ n++; s += $1 } END { printf "%d %.0f", n, s }')
  files=$1 bytes=$2
  if [ "$files" -ne "$expected" ]; then
    why_reason=TestRestoreIncomplete
    why="the test restore of snapshot $id gave $files files where the snapshot lists $expected"
    return 1
  fi
  return 0
}
newest
[ -n "$id" ] || fail NoSnapshot "no snapshot of Backup $BACKUP_REF in the vault to test-restore"
tries=1
until attempt; do
  # A backup's retention may forget the snapshot between this listing and the restore's lock: when a newer one of
  # this Backup has taken its place, that one is tested instead of a sound vault being reported damaged.
  tried=$id
  newest
  if [ -z "$id" ] || [ "$id" = "$tried" ] || [ "$tries" -ge 3 ]; then clear_target; fail "$why_reason" "$why"; fi
  echo "snapshot $tried was replaced by $id while it was being tested (a backup's retention): testing $id"
  tries=$((tries + 1))
done
clear_target
printf 'verified %s %s %s %s\\n' "$id" "$taken" "$files" "$bytes" >>"$report" 2>/dev/null || true
`;
