#!/usr/bin/env bash
# netpol-agent benchmark (root): runs bench/netpol/bench.ts inside a throwaway network namespace,
# so the host's iptables and ipsets are never touched, and prints a markdown table.
#
# Usage: bench/netpol/run.sh [--pods 100,1000,5000] [--policies 10,100,500] [--local 100]
#                            [--repeat 5] [--families IPv4|IPv4,IPv6]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/node_modules/.bin:$PATH
[ "$(id -u)" = 0 ] || { echo "bench/netpol/run.sh: needs root (network namespaces, iptables, ipset)" >&2; exit 1; }
for c in ip iptables-restore ipset node; do
  command -v "$c" >/dev/null || { echo "bench/netpol/run.sh: $c not found (apt-get install iproute2 iptables ipset)" >&2; exit 1; }
done
ns=np-bench-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" node --expose-gc --import tsx bench/netpol/bench.ts "$@"
