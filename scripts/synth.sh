#!/bin/sh
# `npm run synth`: the app from a V8 startup snapshot, so cdk8s and its companions are not loaded again on
# every synth. The snapshot is rebuilt (≈ 1 s) when a source is newer than it or Node's version changes.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
blob="$root/node_modules/.cache/mall-backup/synth-$(node --version).blob"
stale=""
if [ -f "$blob" ]; then
  # The inputs are listed once, in scripts/synth-inputs.txt, which scripts/synth.js reads too.
  stale=$(cd "$root" && find $(cat scripts/synth-inputs.txt) -newer "$blob" 2>/dev/null | head -n 1)
fi
if [ ! -f "$blob" ] || [ -n "$stale" ]; then
  node "$root/scripts/synth.js" --build-snapshot "$blob"
fi
exec node --snapshot-blob "$blob" -- "$@"
