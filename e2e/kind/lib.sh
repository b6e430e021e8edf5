# shellcheck shell=bash disable=SC2034
# Shared helpers for e2e/kind/* (sourced). State per cluster: <repo>/.cache/kind/<name>/ (git-ignored).

KIND_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KIND_HERE/../.." && pwd)
# shellcheck source=../../tools/k8s/versions.env
source "$REPO/tools/k8s/versions.env"

KIND_CLUSTER=${KIND_CLUSTER_NAME:-portico-e2e}
KIND_STATE=$REPO/.cache/kind/$KIND_CLUSTER
KUBECONFIG_PATH=$KIND_STATE/kubeconfig
BIN=$REPO/.cache/bin
# Fixed network layout (docs/e2e.md); the IPv6 ranges only with --ip-family dual (kind's defaults).
POD_SUBNET=10.244.0.0/16
SERVICE_SUBNET=10.96.0.0/16
POD_SUBNET6=fd00:10:244::/56
SERVICE_SUBNET6=fd00:10:96::/112

kind_log() { printf 'kind-e2e: [%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
kind_die() { printf 'kind-e2e: error: %s\n' "$*" >&2; exit 1; }

# kind and kubectl from tools/k8s/build-tools (built once per machine); PATH gets .cache/bin first.
kind_tools() {
  bash "$REPO/tools/k8s/build-tools" kubernetes kind helm >/dev/null 2>"$REPO/.cache/kind-build-tools.log" \
    || { cat "$REPO/.cache/kind-build-tools.log" >&2; kind_die "tools/k8s/build-tools kubernetes kind helm failed"; }
  export PATH="$BIN:$PATH"
}

kind_exists() { kind get clusters 2>/dev/null | grep -qxF "$KIND_CLUSTER"; }

kind_nodes() { kind get nodes --name "$KIND_CLUSTER" 2>/dev/null | sort; }

# Node logs (`kind export logs`) under <repo>/.cache/kind-logs/<name>-<time>/ (git-ignored).
kind_export_logs() {
  local dir
  dir=$REPO/.cache/kind-logs/$KIND_CLUSTER-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$dir"
  if kind export logs "$dir" --name "$KIND_CLUSTER" >/dev/null 2>&1; then
    kind_log "node logs exported to $dir"
  else
    kind_log "kind export logs failed; partial logs (if any) in $dir"
  fi
  echo "$dir"
}
