#!/usr/bin/env bash
# Runs Portico's benchmarks (as root) and prints each one's markdown table; the tables are also
# written to .cache/bench/<name>.md. docs/benchmarks.md records the figures and how they were taken.
#
# Usage: bench/run.sh [NAME...]   names: forwarder-memory servicelb-reconcile servicelb-render servicelb-ingress netpol
#   servicelb-ingress starts the T2 control plane (e2e/t2/up) and leaves it running.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/node_modules/.bin:$PATH
out=.cache/bench
mkdir -p "$out"
all=(forwarder-memory servicelb-reconcile servicelb-render servicelb-ingress netpol)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

run_one() {
  case $1 in
    forwarder-memory) node tools/build-app.mjs lb-forwarder && node --import tsx bench/lb-forwarder/memory.ts --seconds 10 ;;
    servicelb-reconcile) node --expose-gc --import tsx bench/servicelb/reconcile.ts ;;
    servicelb-render) node tools/build-app.mjs servicelb-controller && node --import tsx bench/servicelb/render-scale.ts --format yaml && node --import tsx bench/servicelb/render-scale.ts --format json ;;
    servicelb-ingress)
      kubeconfig=$(e2e/t2/up | tail -n 1) || return 1
      KUBECONFIG=$kubeconfig node --import tsx bench/servicelb/ingress-latency.ts --services 60 ;;
    netpol) bash bench/netpol/run.sh ;;
    *) echo "bench/run.sh: unknown benchmark '$1' (known: ${all[*]})" >&2; return 2 ;;
  esac
}

failed=0
for name in "${names[@]}"; do
  echo "== bench $name ($(date -u +%H:%M:%S))"
  if run_one "$name" | tee "$out/$name.md"; then :; else echo "bench $name failed" >&2; failed=1; fi
done
exit $failed
