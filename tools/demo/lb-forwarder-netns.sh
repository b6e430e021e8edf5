#!/usr/bin/env bash
# Demo: the Portico lb-forwarder doing a svclb pod's job inside network namespaces.
#
#   client (fwd-demo-client)        pod (fwd-demo-pod)                 backend (fwd-demo-backend)
#   10.90.1.2 fd90:1::2  ------  10.90.1.1 fd90:1::1 | 10.90.2.1 fd90:2::1  ------  10.90.2.2 fd90:2::2
#
# Two forwarder "containers" share the pod namespace, with the environment K3s's ServiceLB gives
# klipper-lb: TCP 80 -> backend 8080 and UDP 53 -> backend 5353, both dual-stack. The client talks
# to the pod; replies name the address the backend saw (the pod's, because of MASQUERADE).
# Needs root, iproute2, iptables. Everything is removed on exit, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export PATH="$root/node_modules/.bin:$PATH"
node_bin=$(command -v node)

if [ "$(id -u)" != 0 ]; then echo "demo: run as root (network namespaces, iptables)" >&2; exit 1; fi
for b in ip iptables-nft-save ip6tables-nft-save; do
  command -v "$b" >/dev/null || { echo "demo: $b is missing (apt-get install iproute2 iptables)" >&2; exit 1; }
done

C=fwd-demo-client P=fwd-demo-pod B=fwd-demo-backend
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for ns in $C $P $B; do ip netns del "$ns" 2>/dev/null || true; done
  rm -f /tmp/fwd-demo-*.log
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "build dist/apps/lb-forwarder/main.js"
"$node_bin" tools/build-app.mjs lb-forwarder
ls -l dist/apps/lb-forwarder/main.js

step "network namespaces $C, $P, $B"
cleanup
for ns in $C $P $B; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add c0 netns $C type veth peer name p0 netns $P
ip link add p1 netns $P type veth peer name b0 netns $B
ip -n $C addr add 10.90.1.2/24 dev c0; ip -n $C addr add fd90:1::2/64 dev c0 nodad; ip -n $C link set c0 up
ip -n $P addr add 10.90.1.1/24 dev p0; ip -n $P addr add fd90:1::1/64 dev p0 nodad; ip -n $P link set p0 up
ip -n $P addr add 10.90.2.1/24 dev p1; ip -n $P addr add fd90:2::1/64 dev p1 nodad; ip -n $P link set p1 up
ip -n $B addr add 10.90.2.2/24 dev b0; ip -n $B addr add fd90:2::2/64 dev b0 nodad; ip -n $B link set b0 up
# What the svclb pod's securityContext.sysctls do, in the pod namespace only:
ip netns exec $P sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

step "backend: TCP and UDP echo servers on 8080 and 5353"
ip netns exec $B "$node_bin" apps/lb-forwarder/test/dataplane/echo-server.ts 8080 5353 > /tmp/fwd-demo-echo.log 2>&1 &
pids+=($!)
disown $!
for _ in $(seq 50); do grep -q ready /tmp/fwd-demo-echo.log 2>/dev/null && break; sleep 0.1; done

start_forwarder() { # NAME ENV...
  local name=$1; shift
  env -i PATH="$PATH" "$@" ip netns exec $P "$node_bin" dist/apps/lb-forwarder/main.js > "/tmp/fwd-demo-$name.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 100); do grep -q '"event":"handoff"' "/tmp/fwd-demo-$name.log" 2>/dev/null && break; sleep 0.1; done
  echo "-- $name (pid $pid) logs:"; cat "/tmp/fwd-demo-$name.log"
  eval "pid_$name=$pid"
}

step "forwarder container lb-tcp-80: the klipper-lb environment K3s would set"
echo "SRC_PORT=80 SRC_RANGES=0.0.0.0/0,::/0 DEST_PROTO=TCP DEST_PORT=8080 DEST_IPS=10.90.2.2,fd90:2::2"
start_forwarder tcp SRC_PORT=80 SRC_RANGES=0.0.0.0/0,::/0 DEST_PROTO=TCP DEST_PORT=8080 DEST_IPS=10.90.2.2,fd90:2::2

step "forwarder container lb-udp-53"
echo "SRC_PORT=53 SRC_RANGES=0.0.0.0/0,::/0 DEST_PROTO=UDP DEST_PORT=5353 DEST_IPS=10.90.2.2,fd90:2::2"
start_forwarder udp SRC_PORT=53 SRC_RANGES=0.0.0.0/0,::/0 DEST_PROTO=UDP DEST_PORT=5353 DEST_IPS=10.90.2.2,fd90:2::2

probe() { ip netns exec $C "$node_bin" apps/lb-forwarder/test/dataplane/probe-client.ts "$@" 2000 || true; }
step "traffic from the client through the pod"
printf 'TCP  10.90.1.1:80   -> '; probe tcp 10.90.1.1 80 10.90.1.2
printf 'UDP  10.90.1.1:53   -> '; probe udp 10.90.1.1 53 10.90.1.2
printf 'TCP  [fd90:1::1]:80 -> '; probe tcp fd90:1::1 80 fd90:1::2
printf 'UDP  [fd90:1::1]:53 -> '; probe udp fd90:1::1 53 fd90:1::2

step "rules in the pod namespace (iptables-save / ip6tables-save)"
ip netns exec $P iptables-nft-save | grep -v '^#'
ip netns exec $P ip6tables-nft-save | grep -v '^#'

step "what stays running after the hand-off (same PID, now a shell)"
for name in tcp udp; do
  pid_var="pid_$name"; pid=${!pid_var}
  printf '%s: pid %s exe %s, ' "$name" "$pid" "$(readlink /proc/"$pid"/exe)"
  grep -E 'VmRSS' /proc/"$pid"/status | tr -s ' \t' ' '
done

step "render: what run would apply, without applying it"
env -i PATH="$PATH" SRC_PORT=80 SRC_RANGES=0.0.0.0/0,::/0 DEST_PROTO=TCP DEST_PORT=8080 DEST_IPS=10.90.2.2,fd90:2::2 \
  "$node_bin" dist/apps/lb-forwarder/main.js render --all-families | head -20

step "bad input: exit 2, one line per problem, nothing applied"
set +e
env -i PATH="$PATH" SRC_PORT=80 SRC_RANGES=0.0.0.0/0 DEST_PROTO=ICMP DEST_PORT=0 DEST_IPS=10.90.2.300 \
  ip netns exec $P "$node_bin" dist/apps/lb-forwarder/main.js
echo "exit code: $?"
set -e

step "SIGTERM: the waiters exit 0"
for name in tcp udp; do
  pid_var="pid_$name"; pid=${!pid_var}
  kill -TERM "$pid"; set +e; wait "$pid"; rc=$?; set -e
  echo "$name: exit $rc"
done
step "done; namespaces removed on exit"
