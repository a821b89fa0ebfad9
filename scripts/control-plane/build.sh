#!/usr/bin/env bash
# Builds (once) the control plane the cluster tests and `npm run dev:cluster` run: etcd, kube-apiserver,
# kube-controller-manager and kubectl, all from the Go module in tools/kube at one pinned release.
# Prints the directory holding the four binaries as its last line of stdout; progress goes to stderr.
#
# KUBEBUILDER_ASSETS (the envtest convention) names a directory of prebuilt binaries: whatever it holds
# is used as is. envtest's asset bundles have no kube-controller-manager, so that one alone is still
# built from source (a newer controller manager than the API server is not supported, so match them).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
mod="$root/tools/kube"
kube_version="$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$mod/go.mod" | head -n1)"
[ -n "$kube_version" ] || { echo "tools/kube/go.mod: no k8s.io/kubernetes requirement" >&2; exit 1; }
cache="${MALL_BACKUP_CACHE:-$HOME/.cache/mall-backup}/kube/$kube_version"

# The packages behind each binary; etcd's main package lives at the root of go.etcd.io/etcd/server/v3.
declare -A pkg=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
)
names=(etcd kube-apiserver kube-controller-manager kubectl)

# A cached build is reused only if it came from the same go.mod/go.sum (the etcd version lives there).
stamp="$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"

# Go: from PATH when it is new enough, else the toolchain pinned in tools/kube/go.mod, fetched once from the
# Go module proxy (golang.org/toolchain, the module `go` itself switches toolchains with) and checked
# against the SHA-256 below. GOPROXY=off (or no network) leaves only a Go on PATH.
go_min="go$(awk '$1 == "go" { print $2 }' "$mod/go.mod")"
go_pinned="$(awk '$1 == "toolchain" { print $2 }' "$mod/go.mod")"
declare -A go_sha256=(
  [go1.26.8.linux-amd64]=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
)
ensure_go() {
  if command -v go >/dev/null; then
    local have; have="$(go env GOVERSION)"
    # New enough: use it as it is, rather than let it switch to the pinned toolchain by itself.
    if [ "$(printf '%s\n%s\n' "$go_min" "$have" | sort -V | head -n1)" = "$go_min" ]; then export GOTOOLCHAIN=local; return 0; fi
    echo "control plane: $have on PATH is older than $go_min" >&2
  fi
  local platform="$go_pinned.$(uname -s | tr A-Z a-z)-$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
  local goroot="${MALL_BACKUP_CACHE:-$HOME/.cache/mall-backup}/go/$platform"
  if [ ! -x "$goroot/bin/go" ]; then
    local sum="${go_sha256[$platform]:-}" proxy="${GOPROXY:-https://proxy.golang.org}"
    proxy="${proxy%%[,|]*}"
    [ -n "$sum" ] || { echo "control plane: no pinned checksum for the $platform toolchain" >&2; return 1; }
    case "$proxy" in off|direct) echo "control plane: GOPROXY=$proxy: cannot fetch $go_pinned" >&2; return 1 ;; esac
    local tmp; tmp="$(mktemp -d)"
    echo "control plane: fetching $platform from $proxy" >&2
    if ! curl -fsSL -o "$tmp/go.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-$platform.zip" ||
       ! echo "$sum  $tmp/go.zip" | sha256sum -c --quiet - >&2; then
      rm -rf "$tmp"; echo "control plane: could not fetch $go_pinned" >&2; return 1
    fi
    unzip -q "$tmp/go.zip" -d "$tmp/x"
    local root="$tmp/x/golang.org/toolchain@v0.0.1-$platform"
    chmod +x "$root"/bin/* "$root"/pkg/tool/*/*  # module zips keep no file modes
    mkdir -p "$(dirname "$goroot")" && rm -rf "$goroot" && mv "$root" "$goroot"
    rm -rf "$tmp"
  fi
  export PATH="$goroot/bin:$PATH" GOTOOLCHAIN=local
}

need=()
for n in "${names[@]}"; do
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$n" ]; then continue; fi
  if [ -x "$cache/$n" ] && [ "$(cat "$cache/.stamp" 2>/dev/null)" = "$stamp" ]; then continue; fi
  need+=("$n")
done

if [ "${#need[@]}" -gt 0 ]; then
  if ! ensure_go; then
    cat >&2 <<EOF
The cluster tests need etcd, kube-apiserver, kube-controller-manager and kubectl ($kube_version).
Missing: ${need[*]}. Either install Go ($go_min or newer, from https://go.dev/dl/; see tools/kube/go.mod) so
scripts/control-plane/build.sh can build them into $cache,
or point KUBEBUILDER_ASSETS at a directory that holds prebuilt binaries of that release.
EOF
    exit 1
  fi
  mkdir -p "$cache"
  # Other runs may build at the same time (parallel CI jobs, a test run next to dev:cluster).
  exec 9>"$cache/.lock"
  flock 9
  if [ "$(cat "$cache/.stamp" 2>/dev/null)" != "$stamp" ]; then rm -f "$cache"/{etcd,kube-apiserver,kube-controller-manager,kubectl}; fi
  todo=()
  for n in "${need[@]}"; do [ -x "$cache/$n" ] || todo+=("${pkg[$n]}"); done
  if [ "${#todo[@]}" -gt 0 ]; then
    start=$SECONDS
    cd "$mod"
    echo "control plane: building ${need[*]} at $kube_version into $cache (a cold build takes about 8 min on 2 cores, more on a busy machine)" >&2
    total="$(go list -deps "${todo[@]}" | wc -l)"
    out="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf "$out"' EXIT
    v="k8s.io/component-base/version"
    minor="$(echo "$kube_version" | cut -d. -f2)"
    # The version stamps make `kubectl version` and the API server's /version report the release.
    ldflags="-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
    # `go build -v` names each package as it compiles: count them against the dependency total.
    set +e
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -v -o "$out/" "${todo[@]}" 2>&1 | {
      n=0
      while IFS= read -r line; do
        case "$line" in
          \#*|*.go:*) echo "$line" >&2 ;;
          *) n=$((n + 1)); [ $((n % 100)) -eq 0 ] &&
               echo "control plane: $n/$total packages compiled, $((SECONDS - start))s" >&2 ;;
        esac
      done
    }
    status="${PIPESTATUS[0]}"
    set -e
    [ "$status" -eq 0 ] || { echo "control plane: build failed" >&2; exit 1; }
    # go names a binary after the last path element that is not a major-version suffix.
    for p in "${todo[@]}"; do
      b="$(basename "$p")"
      case "$p" in go.etcd.io/etcd/server/v3) b=server n=etcd ;; *) n="$b" ;; esac
      mv "$out/$b" "$cache/$n"
    done
    echo "$stamp" >"$cache/.stamp"
    echo "control plane: built in $((SECONDS - start))s" >&2
  fi
fi

# The directory the caller uses: KUBEBUILDER_ASSETS where it has a binary, the cache for the rest.
# Links in a per-stamp directory give callers one path with all four names.
bin="$cache"
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  bin="$cache/with-assets"
  mkdir -p "$bin"
  for n in "${names[@]}"; do
    src="$cache/$n"; [ -x "$KUBEBUILDER_ASSETS/$n" ] && src="$KUBEBUILDER_ASSETS/$n"
    ln -sfn "$src" "$bin/$n"
  done
fi
echo "$bin"
