/**
 * The verification runs: proof that a Backup's vault can still be restored. Fixed text: every value reaches
 * them as an environment variable, always quoted, so no spec value is ever read as shell code. Two parts, run
 * by different Jobs (lib/run/verify-job.ts):
 *
 * 1. CHECK_SCRIPT, once per vault: `restic check --read-data-subset "$READ_DATA_SUBSET"`, the vault's
 *    structure and that subset of its pack files read back and hashed. check takes the vault's exclusive
 *    lock, so it waits (`--retry-lock`) for backups and prune instead of failing, and backups wait for it
 *    the same way: neither makes the other fail.
 * 2. TEST_RESTORE_SCRIPT, per Backup: a test restore of this Backup's newest snapshot (host and
 *    `shop=`/`backup=` tags, grouped so there is one newest) into scratch space with `restic restore
 *    --verify`, which reads every restored file back and compares its content with the snapshot's own SHA-256
 *    blob IDs; then the number of restored files is compared with the snapshot's own listing.
 *
 * The termination log gets `checked <subset>` or `verified <snapshot> <snapshot time> <files> <bytes>`, or,
 * on failure, `failed <Reason> <words>` with Reason one of VERIFY_FAILURE_REASONS.
 */
export const VERIFY_FAILURE_REASONS = [
  'CheckFailed',
  'NoSnapshot',
  'TestRestoreFailed',
  'TestRestoreIncomplete',
] as const;

const PRELUDE = `set -eu
report=\${TERMINATION_LOG:-/dev/termination-log}
: >"$report" 2>/dev/null || report=/dev/null
fail() {
  reason=$1; shift; echo "$*" >&2
  printf 'failed %s %s\\n' "$reason" "$*" >>"$report" 2>/dev/null || true
  exit 1
}
wait_lock=\${LOCK_WAIT:-30m}
`;

export const CHECK_SCRIPT = `${PRELUDE}restic check --retry-lock "$wait_lock" --read-data-subset "$READ_DATA_SUBSET" \\
  || fail CheckFailed "restic check found the vault damaged or unreadable" \\
    "(read subset $READ_DATA_SUBSET; see the log above)"
printf 'checked %s\\n' "$READ_DATA_SUBSET" >>"$report" 2>/dev/null || true
`;

export const TEST_RESTORE_SCRIPT = `${PRELUDE}restic snapshots --json --retry-lock "$wait_lock" --host "$SHOP_NAME" \\
  --tag "shop=$SHOP_NAME,backup=$BACKUP_REF" --group-by host,tags --latest 1 >"$TMPDIR/latest.json" \\
  || fail CheckFailed "cannot list the snapshots in the vault (see the log above)"
id=$(grep -o '"id":"[0-9a-f]*"' "$TMPDIR/latest.json" | head -n 1 | cut -d '"' -f 4)
taken=$(grep -o '"time":"[^"]*"' "$TMPDIR/latest.json" | head -n 1 | cut -d '"' -f 4)
[ -n "$id" ] || fail NoSnapshot "no snapshot of Backup $BACKUP_REF in the vault to test-restore"
target="$TMPDIR/verify"
rm -rf "$target"
echo "test-restoring snapshot $id taken $taken"
restic restore --retry-lock "$wait_lock" "$id" --target "$target" --verify \\
  || fail TestRestoreFailed "the test restore of snapshot $id did not restore every file" \\
    "with the content the snapshot records (see the log above)"
restic ls --json --retry-lock "$wait_lock" "$id" >"$TMPDIR/listing.json" \\
  || fail TestRestoreFailed "cannot list snapshot $id"
expected=$(grep -c '"type":"file"' "$TMPDIR/listing.json" || true)
files=$(find "$target" -type f | wc -l)
files=$((files))
[ "$files" -eq "$expected" ] \\
  || fail TestRestoreIncomplete "the test restore of snapshot $id gave $files files where the snapshot lists $expected"
bytes=$(find "$target" -type f -exec wc -c {} + | awk '$2 != "total" { s += $1 } END { printf "%d", s }')
rm -rf "$target"
printf 'verified %s %s %s %s\\n' "$(printf %.16s "$id")" "$taken" "$files" "$bytes" >>"$report" 2>/dev/null || true
`;
