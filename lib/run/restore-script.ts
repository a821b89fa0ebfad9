/**
 * The restore run. Fixed text: every value reaches it as an environment variable or a positional
 * argument, always quoted, so no spec value is ever read as shell code.
 *
 * Arguments come in threes: <claim> <path of the claim in the snapshots> <target folder>. For each claim
 * the snapshot is chosen on its own among this Backup's snapshots that hold that claim's path (restic
 * `--path`), so restoring claim A never takes a newer snapshot that holds only claim B: the newest one
 * (default), the one whose ID starts with SNAPSHOT_ID, or the newest taken at or before
 * POINT_IN_TIME_EPOCH (Unix seconds). Snapshot times are read from restic's JSON with any UTC offset.
 *
 * A target folder that holds anything (but lost+found) is refused unless IN_PLACE=true: a restore never
 * overwrites files it was not told to. One line per claim goes to the termination log:
 * `restored <claim> <snapshot> <snapshot time> <files> <bytes>`; a failure writes `error <reason>`.
 */
export const RESTORE_SCRIPT = `set -eu
report=\${TERMINATION_LOG:-/dev/termination-log}
: >"$report" 2>/dev/null || report=/dev/null
fail() { echo "$*" >&2; printf 'error %s\\n' "$*" >>"$report" 2>/dev/null || true; exit 1; }
choose() {
  restic snapshots --json --host "$SHOP_NAME" --tag "shop=$SHOP_NAME,backup=$BACKUP_REF" --path "$1" \\
    >"$TMPDIR/snapshots.json" \\
    || fail "cannot list the snapshots in the vault (see the log above)"
  awk -v want="\${SNAPSHOT_ID:-}" -v before="\${POINT_IN_TIME_EPOCH:-}" '
    function epoch(t,  y, mo, d, rest, frac, off, era, yoe, doy, doe, days) {
      y = substr(t, 1, 4) + 0; mo = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
      rest = substr(t, 20); frac = 0
      if (match(rest, /^[.][0-9]+/)) { frac = ("0" substr(rest, 1, RLENGTH)) + 0; rest = substr(rest, RLENGTH + 1) }
      off = 0
      if (rest ~ /^[+-][0-9][0-9]:[0-9][0-9]$/) {
        off = substr(rest, 2, 2) * 3600 + substr(rest, 5, 2) * 60
        if (substr(rest, 1, 1) == "-") off = -off
      }
      if (mo <= 2) y = y - 1
      era = int(y / 400); yoe = y - era * 400
      doy = int((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      days = era * 146097 + doe - 719468
      return days * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18, 2) + frac - off
    }
    { text = text $0 }
    END {
      found = 0
      while (match(text, /"(time|id)":"[^"]*"/)) {
        n = split(substr(text, RSTART, RLENGTH), kv, "\\"")
        text = substr(text, RSTART + RLENGTH)
        if (kv[2] == "time") { t = kv[4]; continue }
        if (want != "" && index(kv[4], want) != 1) continue
        e = epoch(t)
        if (before != "" && e > before + 0) continue
        if (!found || e >= best) { found = 1; best = e; id = kv[4]; when = t }
      }
      if (found) print id, when
    }' "$TMPDIR/snapshots.json"
}
while [ $# -ge 3 ]; do
  claim=$1; source=$2; target=$3; shift 3
  picked=$(choose "$source")
  if [ -z "$picked" ]; then
    which="\${SNAPSHOT_ID:+ with ID $SNAPSHOT_ID}\${POINT_IN_TIME:+ taken at or before $POINT_IN_TIME}"
    fail "no snapshot of Backup $BACKUP_REF holds claim $claim$which"
  fi
  id=\${picked%% *}; taken=\${picked#* }
  mkdir -p "$target"
  if [ "\${IN_PLACE:-}" != true ] && [ -n "$(ls -A "$target" | grep -vx 'lost+found' || true)" ]; then
    fail "the target folder for claim $claim is not empty: a restore never writes over files;" \\
      "use a new claim, an empty folder or inPlace"
  fi
  echo "restoring claim $claim from snapshot $id taken $taken"
  restic restore "$id:$source" --target "$target" \\
    || fail "restic could not restore claim $claim from snapshot $id (see the log above)"
  files=$(find "$target" -path "$target/lost+found" -prune -o -type f -print | wc -l)
  bytes=$(find "$target" -path "$target/lost+found" -prune -o -type f -exec wc -c {} + \\
    | awk '$2 != "total" { s += $1 } END { printf "%d", s }')
  files=$((files))
  printf 'restored %s %s %s %s %s\\n' "$claim" "$(printf %.16s "$id")" "$taken" "$files" "$bytes" \\
    >>"$report" 2>/dev/null || true
done
`;
