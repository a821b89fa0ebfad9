/**
 * The restore run. Fixed text: every value reaches it as an environment variable or a positional
 * argument, always quoted, so no spec value is ever read as shell code.
 *
 * Arguments come in threes: <claim> <path of the claim in the snapshots> <target folder>. For each claim
 * the snapshot is chosen on its own among this Backup's snapshots that hold that claim's path (restic
 * `--path`), so restoring claim A never takes a newer snapshot that holds only claim B: the newest one
 * (default), the one whose ID starts with SNAPSHOT_ID, or the newest taken at or before the point
 * POINT_IN_TIME_EPOCH (Unix seconds) and POINT_IN_TIME_FRACTION (the digits after its decimal point, as
 * given). Snapshot times are read from restic's JSON with any UTC offset and compared at the point's own
 * precision: a point given in whole seconds takes a snapshot taken within that second, as restic's table
 * and the status show snapshot times in whole seconds.
 *
 * Every claim's snapshot is chosen and every target folder checked before anything is written, so a claim
 * that cannot be restored fails the run with the targets as they were. A target folder that holds anything
 * (but lost+found) is refused unless IN_PLACE=true: a restore never overwrites files it was not told to.
 * One line per claim goes to the termination log, `restored <claim> <snapshot> <snapshot time> <files>
 * <bytes>`, counting the regular files of the snapshot's claim as restic lists them (not the target's
 * files, which in place include files the snapshot lacks; and no second read of the data), listed while the
 * restore runs. `restic restore --json`'s summary cannot give these numbers: it counts folders and links as
 * files, and its totals leave out the files an in-place restore finds already right (files_skipped). A
 * failure writes `error <reason>`.
 */
export const RESTORE_SCRIPT = `set -eu
report=\${TERMINATION_LOG:-/dev/termination-log}
: >"$report" 2>/dev/null || report=/dev/null
fail() { echo "$*" >&2; printf 'error %s\\n' "$*" >>"$report" 2>/dev/null || true; exit 1; }
choose() {
  restic snapshots --json --host "$SHOP_NAME" --tag "shop=$SHOP_NAME,backup=$BACKUP_REF" --path "$1" \\
    >"$TMPDIR/snapshots.json" \\
    || fail "cannot list the snapshots in the vault (see the log above)"
  awk -v want="\${SNAPSHOT_ID:-}" -v before="\${POINT_IN_TIME_EPOCH:-}" -v bfrac="\${POINT_IN_TIME_FRACTION:-}" '
    # Sets sec (whole Unix seconds) and frac (the digits after the point) of an RFC 3339 time.
    function parse(t,  y, mo, d, rest, off, era, yoe, doy, doe) {
      y = substr(t, 1, 4) + 0; mo = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
      rest = substr(t, 20); frac = ""
      if (match(rest, /^[.][0-9]+/)) { frac = substr(rest, 2, RLENGTH - 1); rest = substr(rest, RLENGTH + 1) }
      off = 0
      if (rest ~ /^[+-][0-9][0-9]:[0-9][0-9]$/) {
        off = substr(rest, 2, 2) * 3600 + substr(rest, 5, 2) * 60
        if (substr(rest, 1, 1) == "-") off = -off
      }
      if (mo <= 2) y = y - 1
      era = int(y / 400); yoe = y - era * 400
      doy = int((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      sec = (era * 146097 + doe - 719468) * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 \\
        + substr(t, 18, 2) - off
    }
    { text = text $0 }
    END {
      found = 0
      while (match(text, /"(time|id)":"[^"]*"/)) {
        n = split(substr(text, RSTART, RLENGTH), kv, "\\"")
        text = substr(text, RSTART + RLENGTH)
        if (kv[2] == "time") { t = kv[4]; continue }
        if (want != "" && index(kv[4], want) != 1) continue
        parse(t)
        if (before != "") {
          if (sec > before + 0) continue
          # The same second: compare the digits the point gives, no more (equal lengths compare as numbers).
          if (sec == before + 0 && ("x" substr(frac "000000000", 1, length(bfrac))) > ("x" bfrac)) continue
        }
        e = sec + ("0." frac "0")
        if (!found || e >= best) { found = 1; best = e; id = kv[4]; when = t }
      }
      if (found) print id, when
    }' "$TMPDIR/snapshots.json"
}
# The regular files of the snapshot's claim and their bytes, from restic's listing.
count() {
  { restic ls --json --recursive "$1" || echo failed; } | awk '
    /^failed$/ { bad = 1 }
    /"struct_type":"node"/ && /"type":"file"/ {
      n++; if (match($0, /"size":[0-9]+/)) s += substr($0, RSTART + 7, RLENGTH - 7) }
    END { if (!bad) printf "%d %.0f\\n", n, s }'
}
check() {
  i=0
  while [ $# -ge 3 ]; do
    claim=$1; source=$2; target=$3; shift 3; i=$((i + 1))
    picked=$(choose "$source")
    if [ -z "$picked" ]; then
      fail "no snapshot of Backup $BACKUP_REF holds claim $claim\\
\${SNAPSHOT_ID:+ with ID $SNAPSHOT_ID}\${POINT_IN_TIME:+ taken at or before $POINT_IN_TIME}"
    fi
    if [ "\${IN_PLACE:-}" != true ] && [ -e "$target" ] &&
      [ -n "$(ls -A "$target" | grep -vx 'lost+found' || true)" ]; then
      fail "the target folder for claim $claim is not empty: a restore never writes over files;" \\
        "use a new claim, an empty folder or inPlace"
    fi
    printf '%s\\n' "$picked" >"$TMPDIR/picked.$i"
  done
}
restore() {
  i=0
  while [ $# -ge 3 ]; do
    claim=$1; source=$2; target=$3; shift 3; i=$((i + 1))
    picked=$(cat "$TMPDIR/picked.$i")
    id=\${picked%% *}; taken=\${picked#* }
    mkdir -p "$target"
    echo "restoring claim $claim from snapshot $id taken $taken"
    # Counted alongside the restore, not after it: the listing reads only the snapshot's trees, and its time
    # hides behind the data's instead of adding to it.
    count "$id:$source" >"$TMPDIR/counted.$i" &
    counting=$!
    if ! restic restore "$id:$source" --target "$target"; then
      wait "$counting" || true
      fail "restic could not restore claim $claim from snapshot $id (see the log above)"
    fi
    wait "$counting" || true
    counted=$(cat "$TMPDIR/counted.$i")
    [ -n "$counted" ] \\
      || fail "restic restored claim $claim but could not list snapshot $id to count its files" "(see the log above)"
    printf 'restored %s %s %s %s\\n' "$claim" "$(printf %.16s "$id")" "$taken" "$counted" \\
      >>"$report" 2>/dev/null || true
  done
}
check "$@"
restore "$@"
`;
