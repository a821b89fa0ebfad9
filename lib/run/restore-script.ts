/**
 * The restore run. Fixed text: every value reaches it as an environment variable or a positional
 * argument, always quoted, so no spec value is ever read as shell code.
 *
 * Arguments come in threes: <claim> <path of the claim in the snapshots> <target folder>; with INCLUDE_PATHS
 * set there is one claim, and the arguments after its three are the paths inside it to restore (spec.paths),
 * each handed to restic as an `--include` argument of its own. For each claim the snapshot is chosen on its own
 * among this Backup's snapshots that hold that claim's path, so restoring claim A never takes a newer snapshot
 * that holds only claim B: the newest one (default), the one whose ID starts with SNAPSHOT_ID (refused when it
 * starts more than one of this Backup's snapshots), or the newest taken at or before the point
 * POINT_IN_TIME_EPOCH (Unix seconds) and POINT_IN_TIME_FRACTION (the digits after its decimal point, as given).
 * Snapshot times are read from restic's JSON with any UTC offset and compared at the point's own precision: a
 * point given in whole seconds takes a snapshot taken within that second, as restic's table and the status show
 * snapshot times in whole seconds.
 *
 * Each opening of the vault costs restic's key derivation (0.3-0.8 s), so the common case opens it once: one
 * claim, its newest snapshot, not in place, no paths. restic itself picks the snapshot (`latest` with the
 * Backup's host, tags and the claim's path) inside the restore and says which one it took; the files are
 * counted in the target, which was empty. The other cases list the snapshots once for every claim (one more
 * opening), as a point in time is compared here; in place, restic's listing of the snapshot counts (the target
 * holds files the snapshot lacks), alongside the restore; with paths, the listing of those paths comes first
 * (a path missing from the snapshot fails the run with the target untouched) and counts.
 *
 * Every claim's snapshot is chosen (by restic, before it writes, in the common case) and every target folder
 * checked before anything is written, so a claim that cannot be restored fails the run with the targets as they
 * were. A target folder that holds anything (but lost+found) is refused unless IN_PLACE=true: a restore never
 * overwrites files it was not told to. One line per claim goes to the termination log, `restored <claim>
 * <snapshot> <snapshot time> <files> <bytes>`, counting regular files only. `restic restore --json`'s summary
 * cannot give these numbers: it counts folders and links as files, and its totals leave out the files an
 * in-place restore finds already right. A failure writes `error <message>`, or `failed <Reason> <message>`
 * when the status has a reason for it (PathNotInSnapshot).
 */
export const RESTORE_SCRIPT = `set -eu
report=\${TERMINATION_LOG:-/dev/termination-log}
: >"$report" 2>/dev/null || report=/dev/null
fail() { echo "$*" >&2; printf 'error %s\\n' "$*" >>"$report" 2>/dev/null || true; exit 1; }
# A failure with a reason of its own for the status.
fail_because() {
  reason=$1; shift; echo "$*" >&2; printf 'failed %s %s\\n' "$reason" "$*" >>"$report" 2>/dev/null || true; exit 1
}
tags="shop=$SHOP_NAME,backup=$BACKUP_REF"
# This Backup's snapshots, listed once for every claim.
list() {
  restic snapshots --json --host "$SHOP_NAME" --tag "$tags" >"$TMPDIR/snapshots.json" \\
    || fail "cannot list the snapshots in the vault (see the log above)"
}
# The chosen snapshot among those holding the claim's path $1: "<id> <time>", or nothing; "ambiguous <n>" when
# SNAPSHOT_ID starts the IDs of n > 1 of this Backup's snapshots (restic refuses such a prefix too).
choose() {
  awk -v path="$1" -v want="\${SNAPSHOT_ID:-}" -v before="\${POINT_IN_TIME_EPOCH:-}" \\
    -v bfrac="\${POINT_IN_TIME_FRACTION:-}" '
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
      # Each snapshot gives its time, then its paths, then its ID.
      while (match(text, /"(time|id)":"[^"]*"|"paths":\\[[^]]*\\]/)) {
        token = substr(text, RSTART, RLENGTH)
        text = substr(text, RSTART + RLENGTH)
        if (substr(token, 1, 8) == "\\"paths\\":") { holds = index(token, "\\"" path "\\"") > 0; continue }
        n = split(token, kv, "\\"")
        if (kv[2] == "time") { t = kv[4]; holds = 0; continue }
        if (want != "") { if (index(kv[4], want) != 1) continue; matched++ }
        if (!holds) continue
        parse(t)
        if (before != "") {
          if (sec > before + 0) continue
          # The same second: compare the digits the point gives, no more (equal lengths compare as numbers).
          if (sec == before + 0 && ("x" substr(frac "000000000", 1, length(bfrac))) > ("x" bfrac)) continue
        }
        e = sec + ("0." frac "0")
        if (!found || e >= best) { found = 1; best = e; id = kv[4]; when = t }
      }
      if (matched > 1) print "ambiguous", matched
      else if (found) print id, when
    }' "$TMPDIR/snapshots.json"
}
none() {
  fail "no snapshot of Backup $BACKUP_REF holds claim $1\\
\${SNAPSHOT_ID:+ with ID $SNAPSHOT_ID}\${POINT_IN_TIME:+ taken at or before $POINT_IN_TIME}"
}
# Refuses an ambiguous snapshot ID: restic would not guess, and neither does the restore.
unique() {
  case $1 in
    ambiguous*) fail "snapshot ID $SNAPSHOT_ID matches \${1#ambiguous } snapshots of Backup $BACKUP_REF: give more" \
      "digits (restic snapshots lists them)" ;;
  esac
}
refuse_full() {
  if [ "\${IN_PLACE:-}" != true ] && [ -e "$2" ] && [ -n "$(ls -A "$2" | grep -vx 'lost+found' || true)" ]; then
    fail "the target folder for claim $1 is not empty: a restore never writes over files;" \\
      "use a new claim, an empty folder or inPlace"
  fi
}
# The regular files of a listing of the snapshot (restic ls --json) and their bytes.
listed() {
  awk '/^failed$/ { bad = 1 }
    /"struct_type":"node"/ && /"type":"file"/ {
      n++; if (match($0, /"size":[0-9]+/)) s += substr($0, RSTART + 7, RLENGTH - 7) }
    END { if (!bad) printf "%d %.0f\\n", n, s }'
}
# The regular files under a target folder that was empty before the restore and their bytes; $2 names a
# lost+found that was there before, and is left out.
walked() {
  { (cd "$1" && if [ -n "$2" ]; then find . -path ./lost+found -prune -o -type f -exec stat -c %s {} +
    else find . -type f -exec stat -c %s {} +; fi) || echo failed; } |
    awk '/^failed$/ { bad = 1; next } { n++; s += $1 } END { if (!bad) printf "%d %.0f\\n", n, s }'
}
# The snapshot goes into the report as the script knows it: its full ID (64 hex digits) when it was chosen here
# from the listing; restic's short form (8 digits) when restic picked it inside the restore (newest below), the one
# form restic prints there (its --json restore output names none). Both are what a Restore's snapshotID accepts.
done_claim() {
  [ -n "$4" ] || fail "restic restored claim $1 but could not count its files (see the log above)"
  printf 'restored %s %s %s %s\\n' "$1" "$2" "$3" "$4" >>"$report" 2>/dev/null || true
}
# One claim from its newest snapshot, picked by restic within the restore: the vault is opened once. restic
# picks before it writes, so a claim without a snapshot fails with the target as it was.
newest() {
  claim=$1; source=$2; target=$3
  refuse_full "$claim" "$target"
  kept=; [ -e "$target/lost+found" ] && kept=yes
  echo "restoring claim $claim from the newest snapshot holding it"
  code=0
  restic restore "latest:$source" --host "$SHOP_NAME" --tag "$tags" --path "$source" --target "$target" \\
    >"$TMPDIR/restore.out" 2>"$TMPDIR/restore.err" || code=$?
  cat "$TMPDIR/restore.out"; cat "$TMPDIR/restore.err" >&2
  if [ "$code" -ne 0 ]; then
    grep -q 'failed to find snapshot' "$TMPDIR/restore.err" && none "$claim"
    case $code in 10 | 11 | 12) fail "cannot open the vault (see the log above)" ;; esac
    fail "restic could not restore claim $claim from its newest snapshot (see the log above)"
  fi
  # "restoring snapshot <short ID> of [<paths>] at <date> <time> <offset> <zone> by <user>@<host> to <target>"
  picked=$(awk 'BEGIN { d = "[0-9][0-9]"; at = " at " d d "-" d "-" d " " d ":" d ":" d "[.0-9]* [+-]" d d " " }
    /^restoring snapshot [0-9a-f]+ of / && !done && match($0, at) {
      split(substr($0, RSTART + 4, RLENGTH - 5), t, " ")
      print $3, t[1] "T" t[2] substr(t[3], 1, 3) ":" substr(t[3], 4, 2); done = 1 }' "$TMPDIR/restore.out")
  [ -n "$picked" ] || fail "restic restored claim $claim but did not say from which snapshot (see the log above)"
  id=\${picked%% *}; taken=\${picked#* }
  # restic makes the target folder as it writes, and so nothing when it finds no snapshot; an empty snapshot too.
  mkdir -p "$target"
  done_claim "$claim" "$id" "$taken" "$(walked "$target" "$kept")"
}
# One claim, only the paths given after its target: each must be in the snapshot before anything is written.
some() {
  claim=$1; source=$2; target=$3; shift 3
  list
  picked=$(choose "$source")
  unique "$picked"
  [ -n "$picked" ] || none "$claim"
  refuse_full "$claim" "$target"
  id=\${picked%% *}; taken=\${picked#* }
  printf '%s\\n' "$@" >"$TMPDIR/paths"
  { restic ls --json --recursive "$id:$source" "$@" || echo failed; } >"$TMPDIR/listing.json"
  # The paths as restic's JSON (Go's) writes them; backslashes and control characters cannot be in a path.
  awk 'BEGIN { ls = sprintf("%c%c%c", 226, 128, 168); ps = sprintf("%c%c%c", 226, 128, 169) }
    FNR == NR { w = $0; gsub(/"/, "\\\\\\"", w); gsub(/</, "\\\\u003c", w); gsub(/>/, "\\\\u003e", w)
      gsub(/&/, "\\\\u0026", w); gsub(ls, "\\\\u2028", w); gsub(ps, "\\\\u2029", w); raw[w] = $0; order[++k] = w; next }
    /"struct_type":"node"/ && match($0, /"path":"([^"\\\\]|\\\\.)*"/) { seen[substr($0, RSTART + 8, RLENGTH - 9)] = 1 }
    END { for (i = 1; i <= k; i++) if (!(order[i] in seen)) out = out (out == "" ? "" : ", ") "\\"" raw[order[i]] "\\""
      printf "%s", out }' \\
    "$TMPDIR/paths" "$TMPDIR/listing.json" >"$TMPDIR/missing"
  grep -qx failed "$TMPDIR/listing.json" && fail "cannot list snapshot $id to find the paths (see the log above)"
  if [ -s "$TMPDIR/missing" ]; then
    fail_because PathNotInSnapshot "$(cat "$TMPDIR/missing") not in snapshot $id of claim" \\
      "$claim (taken $taken): nothing was restored; name paths that snapshot holds (restic ls $(printf %.8s "$id"))"
  fi
  counted=$(listed <"$TMPDIR/listing.json")
  paths=$#; n=$#
  while [ "$n" -gt 0 ]; do set -- "$@" --include "$1"; shift; n=$((n - 1)); done
  mkdir -p "$target"
  echo "restoring $paths path(s) of claim $claim from snapshot $id taken $taken"
  restic restore "$id:$source" --target "$target" "$@" \\
    || fail "restic could not restore claim $claim from snapshot $id (see the log above)"
  done_claim "$claim" "$id" "$taken" "$counted"
}
# Every claim's snapshot is chosen and every target checked before anything is written.
check() {
  list
  i=0
  while [ $# -ge 3 ]; do
    claim=$1; source=$2; target=$3; shift 3; i=$((i + 1))
    picked=$(choose "$source")
    unique "$picked"
    [ -n "$picked" ] || none "$claim"
    refuse_full "$claim" "$target"
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
    kept=; [ -e "$target/lost+found" ] && kept=yes
    echo "restoring claim $claim from snapshot $id taken $taken"
    if [ "\${IN_PLACE:-}" = true ]; then
      # In place the target holds files the snapshot lacks: restic's listing counts, alongside the restore.
      { restic ls --json --recursive "$id:$source" || echo failed; } | listed >"$TMPDIR/counted.$i" &
      counting=$!
    fi
    if ! restic restore "$id:$source" --target "$target"; then
      [ -z "\${counting:-}" ] || wait "$counting" || true
      fail "restic could not restore claim $claim from snapshot $id (see the log above)"
    fi
    if [ "\${IN_PLACE:-}" = true ]; then
      wait "$counting" || true
      counted=$(cat "$TMPDIR/counted.$i")
    else
      counted=$(walked "$target" "$kept")
    fi
    done_claim "$claim" "$id" "$taken" "$counted"
  done
}
if [ -n "\${INCLUDE_PATHS:-}" ]; then
  some "$@"
elif [ $# -eq 3 ] && [ -z "\${SNAPSHOT_ID:-}\${POINT_IN_TIME_EPOCH:-}" ] && [ "\${IN_PLACE:-}" != true ]; then
  newest "$@"
else
  check "$@"
  restore "$@"
fi
`;
