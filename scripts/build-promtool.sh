#!/usr/bin/env bash
# Builds promtool (Prometheus' own rule checker and unit tester) from its Go module into the tool cache:
#   ${MALL_BACKUP_CACHE:-~/.cache/mall-backup}/promtool/<version>/promtool
# The monitoring tests run the PrometheusRule's alerts through it. Needs Go and the Go module proxy.
set -euo pipefail
VERSION=0.315.1   # Prometheus v3.15.1 as a Go module (github.com/prometheus/prometheus v0.315.1)
dir="${MALL_BACKUP_CACHE:-$HOME/.cache/mall-backup}/promtool/$VERSION"
if [ -x "$dir/promtool" ]; then
  echo "promtool $VERSION already built: $dir/promtool"
  exit 0
fi
command -v go >/dev/null || { echo "Go is needed to build promtool (https://go.dev/dl/): install it and put it on PATH" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building promtool $VERSION with $(go version) into $dir (downloads the module and its dependencies; about 10 min cold on 2 busy cores)"
# Built inside its own module (its go.mod has replace directives, which `go install pkg@version` refuses).
src=$(go mod download -json "github.com/prometheus/prometheus@v$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] || { echo "could not download github.com/prometheus/prometheus@v$VERSION from the Go module proxy" >&2; exit 1; }
cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
echo "module source in $src; compiling cmd/promtool"
(cd "$tmp/src" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$tmp/promtool" ./cmd/promtool)
mkdir -p "$dir"
mv "$tmp/promtool" "$dir/promtool"
"$dir/promtool" --help >/dev/null
echo "promtool built: $dir/promtool"
