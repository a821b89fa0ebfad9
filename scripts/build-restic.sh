#!/bin/sh
# Builds the pinned restic (lib/run/restic-version.ts, the same release as the backup image) from its Go module
# into ${MALL_BACKUP_CACHE:-$HOME/.cache/mall-backup}/restic/<version>/restic, once; tests use exactly that
# binary. Prints the binary's path last.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n "s/^export const RESTIC_VERSION = '\([0-9][0-9.]*\)';.*/\1/p" "$root/lib/run/restic-version.ts")
if [ -z "$version" ]; then echo "build-restic: no RESTIC_VERSION in lib/run/restic-version.ts" >&2; exit 1; fi
dir="${MALL_BACKUP_CACHE:-$HOME/.cache/mall-backup}/restic/$version"
if [ -x "$dir/restic" ] && "$dir/restic" version | grep -q "restic $version "; then
  echo "$dir/restic"
  exit 0
fi
command -v go >/dev/null || { echo "build-restic: Go is needed to build restic $version (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$dir"
echo "build-restic: building restic $version with $(go version | cut -d' ' -f3) into $dir (a few minutes on first use)" >&2
# A private GOBIN so a half-written binary never sits at the cached path.
tmp=$(mktemp -d "$dir/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# -x lists every compile and link; only a count of them is printed, with Go's own messages and errors.
GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" go install -x "github.com/restic/restic/cmd/restic@v$version" 2>&1 |
  awk '/\/(compile|link) / { n++; if (n % 50 == 0) printf "build-restic: %d packages compiled\n", n > "/dev/stderr"; next }
       /^go: |[Ee]rror|cannot|undefined/ { print > "/dev/stderr" }'
[ -x "$tmp/restic" ] || { echo "build-restic: go install failed (see above)" >&2; exit 1; }
mv "$tmp/restic" "$dir/restic"
"$dir/restic" version >&2
echo "$dir/restic"
