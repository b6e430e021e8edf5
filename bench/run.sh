#!/usr/bin/env bash
# Runs Portico's benchmarks (as root) and prints each one's markdown table; the tables are also
# written to .cache/bench/<name>.md. docs/benchmarks.md records the figures and how they were taken.
# Series against the upstream peers (netpol-peers, lb-peers, servicelb-peers) also leave a record in .cache/bench/<name>.json,
# from which bench/report.ts writes their section of docs/benchmarks.md and SVG plots in
# docs/benchmarks/ (run `bench/run.sh report` to redo that alone from the records).
#
# Usage: bench/run.sh [NAME...]   names: forwarder-memory servicelb-reconcile servicelb-render servicelb-ingress
#                                 servicelb-peers netpol netpol-peers lb-peers report
#   servicelb-ingress, servicelb-peers and netpol-peers start the T2 control plane (e2e/t2/up) and leave it running
#   (export T2_PORT_OFFSET when other checkouts on the machine run T2 too).
#   netpol-peers builds kube-router v2.1.0 (tools/k8s/build-tools kube-router; a benchmark peer only,
#   run in throwaway network namespaces). NETPOL_PEERS_ARGS adds flags (bench/peers/netpol.ts), e.g.
#   NETPOL_PEERS_ARGS="--points 100x10,1000x100 --repeat 4".
#   lb-peers fetches klipper-lb's entry script (KLIPPER_LB_REPO, default its GitHub repository) into
#   .cache/bench/peers/ and runs it unmodified (bench/peers/lb.ts); LB_PEERS_ARGS adds flags.
#   servicelb-peers: the ServiceLB core at several sizes, and whether K3s's controller can be built
#   (bench/peers/servicelb.ts); SERVICELB_PEERS_ARGS adds flags.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/node_modules/.bin:$PATH
out=.cache/bench
mkdir -p "$out"
all=(forwarder-memory servicelb-reconcile servicelb-render servicelb-ingress servicelb-peers netpol netpol-peers lb-peers)
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
    netpol-peers)
      local kr kubeconfig
      kr=$(tools/k8s/build-tools --tool-dirs kube-router | awk '$1=="kube-router"{print $2}')/bin/kube-router || return 1
      node tools/build-app.mjs netpol-agent || return 1
      kubeconfig=$(e2e/t2/up | tail -n 1) || return 1
      # shellcheck disable=SC2086
      KUBECONFIG=$kubeconfig node --import tsx bench/peers/netpol.ts --kube-router "$kr" ${NETPOL_PEERS_ARGS:-} ;;
    lb-peers)
      node tools/build-app.mjs lb-forwarder || return 1
      local src=.cache/bench/peers/klipper-lb entry=.cache/bench/peers/klipper-lb-entry
      if [ ! -f "$entry" ]; then
        # upstream's script, kept in the git-ignored cache: never part of the shipped tree
        rm -rf "$src"
        git clone -q --depth 1 "${KLIPPER_LB_REPO:-https://github.com/k3s-io/klipper-lb}" "$src" || {
          echo "bench lb-peers: cannot fetch klipper-lb (set KLIPPER_LB_REPO to a reachable clone)" >&2; return 1; }
        cp "$src/entry" "$entry"
        echo "github.com/k3s-io/klipper-lb entry at $(git -C "$src" rev-parse --short HEAD) ($(git -C "$src" log -1 --format=%cs))" >"$entry.source"
      fi
      node --import tsx bench/peers/lb.ts --klipper-entry "$entry" ${LB_PEERS_ARGS:-} ;;
    servicelb-peers)
      local kubeconfig
      kubeconfig=$(e2e/t2/up | tail -n 1) || return 1
      # shellcheck disable=SC2086
      KUBECONFIG=$kubeconfig node --import tsx bench/peers/servicelb.ts --ingress-nodes 3,10,30 ${SERVICELB_PEERS_ARGS:-} ;;
    report) node --import tsx bench/report.ts ;;
    *) echo "bench/run.sh: unknown benchmark '$1' (known: ${all[*]})" >&2; return 2 ;;
  esac
}

failed=0 records=()
for name in "${names[@]}"; do
  echo "== bench $name ($(date -u +%H:%M:%S), load average $(cut -d' ' -f1 /proc/loadavg))"
  if [ "$name" = report ]; then run_one report || failed=1; continue; fi
  if run_one "$name" | tee "$out/$name.md"; then :; else echo "bench $name failed" >&2; failed=1; continue; fi
  [ -f "$out/$name.json" ] && records+=("$name")
done
# Sections and plots of the series that ran and left a record (bench/report.ts).
if [ ${#records[@]} -gt 0 ]; then node --import tsx bench/report.ts "${records[@]}" >/dev/null || failed=1; fi
exit $failed
