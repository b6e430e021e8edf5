# shellcheck shell=bash disable=SC2034,SC2054
# Shared helpers for the T2 scripts (up, down, add-nodes, restart-apiserver, compact-etcd).
# Sourced, not executed. Everything lives under <repo>/.cache/t2 (git-ignored).

T2_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$T2_HERE/../.." && pwd)
T2_DIR=$REPO/.cache/t2
T2_LOCK=$REPO/.cache/t2-scripts.lock
PKI=$T2_DIR/pki
KCFG_DIR=$T2_DIR/kubeconfigs
LOGS=$T2_DIR/logs
PIDS=$T2_DIR/pids
STATE=$T2_DIR/state.env
KUBECONFIG_PATH=$T2_DIR/kubeconfig
BIN=$REPO/.cache/bin

# Fixed network layout (documented in tools/k8s/README.md).
SERVICE_CIDRS=10.96.0.0/16,fd00:10:96::/112
CLUSTER_CIDRS=10.244.0.0/16,fd00:10:244::/56
NODE_MASK_V4=24
NODE_MASK_V6=64
SA_ISSUER=https://kubernetes.default.svc.cluster.local
KWOK_SELECTOR_KEY=kwok.x-k8s.io/node
KWOK_SELECTOR_VALUE=fake
# Order matters: started in this order, stopped in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

t2_log() { printf 't2: %s\n' "$*" >&2; }
t2_die() { printf 't2: error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

# Ports: defaults, shifted by T2_PORT_OFFSET, each overridable. Once a cluster is up, the ports it
# uses are recorded in state.env and every other script reads them from there.
t2_default_ports() {
  local off=${T2_PORT_OFFSET:-0}
  [[ $off =~ ^[0-9]+$ ]] || t2_die "T2_PORT_OFFSET must be a non-negative integer, got '$off'"
  APISERVER_PORT=${T2_APISERVER_PORT:-$((16443 + off))}
  ETCD_PORT=${T2_ETCD_PORT:-$((12379 + off))}
  ETCD_PEER_PORT=${T2_ETCD_PEER_PORT:-$((12380 + off))}
  KCM_PORT=${T2_KCM_PORT:-$((20257 + off))}
  SCHEDULER_PORT=${T2_SCHEDULER_PORT:-$((20259 + off))}
  KWOK_PORT=${T2_KWOK_PORT:-$((20247 + off))}
  WATCH_CACHE=${T2_WATCH_CACHE:-true}
  case $WATCH_CACHE in true|false) ;; *) t2_die "T2_WATCH_CACHE must be true or false, got '$WATCH_CACHE'" ;; esac
  local p
  for p in APISERVER_PORT ETCD_PORT ETCD_PEER_PORT KCM_PORT SCHEDULER_PORT KWOK_PORT; do
    [[ ${!p} =~ ^[0-9]+$ ]] && ((${!p} > 0 && ${!p} < 65536)) || t2_die "bad port $p=${!p}"
  done
}

t2_state_text() {
  cat <<EOF
APISERVER_PORT=$APISERVER_PORT
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
KCM_PORT=$KCM_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
KWOK_PORT=$KWOK_PORT
WATCH_CACHE=$WATCH_CACHE
EOF
}

t2_write_state() {
  mkdir -p "$T2_DIR"
  t2_state_text >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

# Load the state of a running cluster; returns 1 when there is none.
t2_load_state() {
  [[ -f $STATE ]] || return 1
  # shellcheck disable=SC1090
  source "$STATE"
}

t2_lock() {
  mkdir -p "$REPO/.cache"
  exec 8>"$T2_LOCK"
  if ! flock -n 8; then
    t2_log "another T2 script holds $T2_LOCK; waiting"
    flock -w "${T2_LOCK_TIMEOUT:-600}" 8 || t2_die "timed out waiting for $T2_LOCK"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Processes. A pid file is trusted only if that pid runs one of our binaries with this
# repository's .cache/t2 on its command line (guards against pid reuse).
bin_path() { readlink -f "$BIN/$1"; }

pid_is_ours() {  # <pid> <binary-name>
  local pid=$1 name=$2 exe cmd
  [[ -n $pid && -d /proc/$pid ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $(basename "${exe% (deleted)}") == "$name" ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$T2_DIR/"* ]]
}

comp_pid() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

comp_running() { pid_is_ours "$(comp_pid "$1")" "$1"; }

# start_comp <name> <args...>: start detached (own session, survives the caller), log to logs/<name>.log
start_comp() {
  local name=$1; shift
  local exe
  exe=$(bin_path "$name")
  [[ -x $exe ]] || t2_die "$name binary missing ($BIN/$name); run tools/k8s/build-tools"
  mkdir -p "$LOGS" "$PIDS"
  printf '\n==== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  # 8>&-: the daemon must not inherit the lock fd of t2_lock (it would hold the lock forever)
  setsid "$exe" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PIDS/$name.pid"
}

# stop_pid <pid> <label>: SIGTERM, then SIGKILL after T2_STOP_TIMEOUT seconds (default 15)
stop_pid() {
  local pid=$1 label=$2 t=$((${T2_STOP_TIMEOUT:-15} * 10)) i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < t; i++)); do
    [[ -d /proc/$pid ]] || return 0
    # a zombie child of ours counts as gone
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.1
  done
  t2_log "$label (pid $pid) did not exit after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do [[ -d /proc/$pid ]] || return 0; sleep 0.1; done
}

stop_comp() {
  local name=$1 pid
  pid=$(comp_pid "$name")
  if pid_is_ours "$pid" "$name"; then
    stop_pid "$pid" "$name"
  fi
  rm -f "$PIDS/$name.pid"
}

# Processes of ours that lost their pid file (e.g. .cache/t2 removed by hand): scan /proc for our
# binaries whose command line names this repository's .cache/t2.
orphan_pids() {
  local f pid c
  local -a found=()
  # candidates: command lines naming our state dir (one grep over /proc), then verified
  for f in $(grep -lsF "$T2_DIR/" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    for c in "${COMPONENTS[@]}"; do
      if pid_is_ours "$pid" "$c"; then found+=("$c $pid"); fi
    done
  done
  # print in stop order (reverse start order)
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    for f in "${found[@]}"; do
      [[ ${f%% *} == "${COMPONENTS[i]}" ]] && echo "${f#* } ${f%% *}"
    done
  done
  return 0
}

# wait_until <timeout-seconds> <description> <name-for-log> <command...>
wait_until() {
  local timeout=$1 what=$2 name=$3; shift 3
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $name ]] && ! comp_running "$name"; then
      t2_log "$name exited while waiting for $what; last log lines ($LOGS/$name.log):"
      tail -n 40 "$LOGS/$name.log" >&2 || true
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      t2_log "timed out after ${timeout}s waiting for $what; last log lines ($LOGS/$name.log):"
      [[ -n $name ]] && { tail -n 40 "$LOGS/$name.log" >&2 || true; }
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# PKI: every file is generated when missing (so a state from an older script version is completed).
gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# gen_ca <name> <CN>
gen_ca() {
  gen_key "$PKI/$1.key"
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$1.crt.tmp" 2>/dev/null
  mv "$PKI/$1.crt.tmp" "$PKI/$1.crt"
}

# sign <ca-name> <name> <subject> <extensions...>
sign() {
  local ca=$1 name=$2 subj=$3; shift 3
  local ext=$PKI/$name.ext
  gen_key "$PKI/$name.key"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$@" >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt.tmp" 2>/dev/null
  mv "$PKI/$name.crt.tmp" "$PKI/$name.crt"
  rm -f "$PKI/$name.csr" "$ext"
}

ensure_pki() {
  local t0 made=0
  t0=$(now_ms)
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  [[ -f $PKI/ca.crt ]] || { gen_ca ca portico-t2-ca; made=1; }
  [[ -f $PKI/apiserver.crt ]] || { made=1; sign ca apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:fd00:10:96::1"; }
  [[ -f $PKI/admin.crt ]] || { made=1; sign ca admin "/O=system:masters/CN=portico-t2-admin" "extendedKeyUsage=clientAuth"; }
  [[ -f $PKI/kube-controller-manager.crt ]] || { made=1; sign ca kube-controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"; }
  [[ -f $PKI/kube-scheduler.crt ]] || { made=1; sign ca kube-scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"; }
  [[ -f $PKI/kwok.crt ]] || { made=1; sign ca kwok "/O=system:masters/CN=kwok-controller" "extendedKeyUsage=clientAuth"; }
  # front proxy (request-header authentication, used by the aggregation layer and read by the
  # controller-manager/scheduler delegated authentication)
  [[ -f $PKI/front-proxy-ca.crt ]] || { gen_ca front-proxy-ca portico-t2-front-proxy-ca; made=1; }
  [[ -f $PKI/front-proxy-client.crt ]] || { made=1; sign front-proxy-ca front-proxy-client "/CN=front-proxy-client" "extendedKeyUsage=clientAuth"; }
  # service-account token signing key pair (RS256)
  if [[ ! -f $PKI/sa.pub ]]; then
    made=1
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub.tmp" 2>/dev/null
    mv "$PKI/sa.pub.tmp" "$PKI/sa.pub"
  fi
  chmod 600 "$PKI"/*.key
  [[ $made == 0 ]] || t2_log "generated CA, certificates and keys in $PKI ($(( $(now_ms) - t0 )) ms)"
}

# ---------------------------------------------------------------------------------------------
# Health checks
etcd_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() {
  curl -sf --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" | grep -qx ok
}
kcm_healthy() { curl -skf --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" | grep -qx ok; }
scheduler_healthy() { curl -skf --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz" | grep -qx ok; }
kwok_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz" | grep -qx ok; }

comp_healthy() {
  case $1 in
    etcd) etcd_healthy ;;
    kube-apiserver) apiserver_ready ;;
    kube-controller-manager) kcm_healthy ;;
    kube-scheduler) scheduler_healthy ;;
    kwok) kwok_healthy ;;
  esac
}

comp_port() {
  case $1 in
    etcd) echo "$ETCD_PORT $ETCD_PEER_PORT" ;;
    kube-apiserver) echo "$APISERVER_PORT" ;;
    kube-controller-manager) echo "$KCM_PORT" ;;
    kube-scheduler) echo "$SCHEDULER_PORT" ;;
    kwok) echo "$KWOK_PORT" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Command lines
etcd_args() {
  ARGS=(--name=t2 --data-dir="$T2_DIR/etcd"
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT"
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
    --initial-cluster="t2=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state=new
    --unsafe-no-fsync=true --log-level=warn)
}

apiserver_args() {
  ARGS=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT"
    --etcd-servers="http://127.0.0.1:$ETCD_PORT"
    --client-ca-file="$PKI/ca.crt"
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key"
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key"
    --cert-dir="$T2_DIR/apiserver"
    --service-account-issuer="$SA_ISSUER"
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key"
    --authorization-mode=Node,RBAC
    --enable-admission-plugins=NodeRestriction
    --service-cluster-ip-range="$SERVICE_CIDRS"
    --endpoint-reconciler-type=none
    --allow-privileged=true
    --watch-cache="$WATCH_CACHE"
    --shutdown-send-retry-after=true --shutdown-watch-termination-grace-period=2s
    --profiling=false)
}

kcm_args() {
  local kc=$KCFG_DIR/kube-controller-manager.kubeconfig
  ARGS=(--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$T2_DIR/kube-controller-manager"
    --controllers='*' --leader-elect=false --use-service-account-credentials=true
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt"
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key"
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDRS"
    --node-cidr-mask-size-ipv4="$NODE_MASK_V4" --node-cidr-mask-size-ipv6="$NODE_MASK_V6"
    --service-cluster-ip-range="$SERVICE_CIDRS" --cluster-name=portico-t2
    --profiling=false)
}

scheduler_args() {
  local kc=$KCFG_DIR/kube-scheduler.kubeconfig
  ARGS=(--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --cert-dir="$T2_DIR/kube-scheduler"
    --leader-elect=false --profiling=false)
}

kwok_args() {
  ARGS=(--kubeconfig="$KCFG_DIR/kwok.kubeconfig" --config="$T2_DIR/kwok/stages.yaml"
    --manage-all-nodes=false
    --manage-nodes-with-annotation-selector="$KWOK_SELECTOR_KEY=$KWOK_SELECTOR_VALUE"
    --server-address="127.0.0.1:$KWOK_PORT"
    --node-lease-duration-seconds=40
    --cidr=10.254.0.0/16 --node-ip=10.254.255.254)
}

# comp_args <component>: sets ARGS
comp_args() {
  case $1 in
    etcd) etcd_args ;;
    kube-apiserver) apiserver_args ;;
    kube-controller-manager) kcm_args ;;
    kube-scheduler) scheduler_args ;;
    kwok) kwok_args ;;
  esac
}

# launch_comp <component>: check its ports are free and start it (no waiting)
declare -A LAUNCHED_AT=()
launch_comp() {
  local name=$1 p
  for p in $(comp_port "$name"); do
    port_in_use "$p" && t2_die "port $p (for $name) is already in use by another process; pick other ports with T2_PORT_OFFSET=<n> or T2_*_PORT (see tools/k8s/README.md)"
  done
  LAUNCHED_AT[$name]=$(now_ms)
  comp_args "$name"
  if [[ $name == kwok ]]; then
    # KWOK_WORKDIR keeps kwok from also loading ~/.kwok/kwok.yaml
    mkdir -p "$T2_DIR/kwok"
    cp "$T2_HERE/kwok-stages.yaml" "$T2_DIR/kwok/stages.yaml"
    KWOK_WORKDIR=$T2_DIR/kwok start_comp "$name" "${ARGS[@]}"
  else
    start_comp "$name" "${ARGS[@]}"
  fi
}

# await_comp <component> <timeout-seconds>
await_comp() {
  local name=$1 timeout=$2
  wait_until "$timeout" "$name to become healthy" "$name" comp_healthy "$name" || return 1
  t2_log "$name ready (pid $(comp_pid "$name"), $(( $(now_ms) - ${LAUNCHED_AT[$name]:-$(now_ms)} )) ms)"
}

start_and_wait() { launch_comp "$1" && await_comp "$1" "$2"; }
