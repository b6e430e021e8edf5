#!/usr/bin/env bash
# Entry point of the HelmChart Job image (Portico's klipper-helm equivalent; docs/addon-manager.md,
# "The Job"). Contract (spec §2.5, §4.3): the first argument is `install` or `delete`, the rest are
# extra flags for `helm install/upgrade` (--namespace, --create-namespace, --take-ownership,
# --version, --set/--set-string). Settings come from the environment the controller sets: NAME,
# CHART, VERSION, REPO, TARGET_NAMESPACE, HELM_DRIVER, FAILURE_POLICY, SERVER_SIDE, FORCE_CONFLICTS,
# EXPECTED_RELEASE_REVISION, CONFIG_HASH, TIMEOUT, AUTH_PASS_CREDENTIALS, INSECURE_SKIP_TLS_VERIFY,
# PLAIN_HTTP, HELM_VERSION, KUBERNETES_SERVICE_HOST/PORT. Mounts: /config (values files, ca-file.pem),
# /chart (<NAME>.tgz.base64), /auth (username+password or tls.crt+tls.key), /ca-files.
#
# Needs at run time: bash, helm (v3.13+ or v4), base64, sed, cat, mktemp. Each mount point can be
# moved with HELM_JOB_CONFIG_DIR, HELM_JOB_CHART_DIR, HELM_JOB_AUTH_DIR, HELM_JOB_CA_DIR (tests run
# this script as a local process); HELM picks the helm binary; TERMINATION_LOG the decision log.
set -euo pipefail

# The Job's pod may be asked to stop while Helm writes a release; finishing is safer (klipper-helm).
trap '' INT TERM

CONFIG_DIR=${HELM_JOB_CONFIG_DIR:-/config}
CHART_DIR=${HELM_JOB_CHART_DIR:-/chart}
AUTH_DIR=${HELM_JOB_AUTH_DIR:-/auth}
CA_DIR=${HELM_JOB_CA_DIR:-/ca-files}
HELM=${HELM:-helm}
TERMINATION_LOG=${TERMINATION_LOG:-/dev/termination-log}
STABLE_REPO_URL=${STABLE_REPO_URL:-https://charts.helm.sh/stable/}
CONFIG_HASH_LABEL=helmcharts.helm.cattle.io/configHash
WORK=$(mktemp -d "${TMPDIR:-/tmp}/helm-job.XXXXXX")

say() {
  printf '%s\n' "$*" >&2
  printf '%s\n' "$*" >>"$TERMINATION_LOG" 2>/dev/null || true
}

die() {
  say "$1"
  exit "${2:-1}"
}

[[ $# -ge 1 ]] || die "usage: entry.sh install|delete [helm flags...]" 2
COMMAND=$1
shift
case $COMMAND in install | delete) ;; *) die "unknown command '$COMMAND' (want install or delete)" 2 ;; esac
: "${NAME:?NAME is not set}"
TARGET_NAMESPACE=${TARGET_NAMESPACE:-${CHART_NAMESPACE:-default}}
[[ ${HELM_VERSION:-} != v2 ]] || die "Helm v2 is not supported (spec.helmVersion: v2); use v3 or leave it empty" 64
export HELM_DRIVER=${HELM_DRIVER:-secret}

# %{KUBERNETES_API}% in CHART is the apiserver as the pod sees it (brackets around IPv6).
CHART=${CHART:-}
if [[ $CHART == *'%{KUBERNETES_API}%'* ]]; then
  host=${KUBERNETES_SERVICE_HOST:?KUBERNETES_SERVICE_HOST is not set}
  [[ $host == *:* ]] && host="[$host]"
  CHART=${CHART//'%{KUBERNETES_API}%'/$host:${KUBERNETES_SERVICE_PORT:-443}}
fi

# Inline chart (spec.chartContent) beats spec.chart.
if [[ -s $CHART_DIR/$NAME.tgz.base64 ]]; then
  base64 -d <"$CHART_DIR/$NAME.tgz.base64" >"$WORK/$NAME.tgz" || die "chart-content of $NAME is not valid base64"
  CHART=$WORK/$NAME.tgz
fi

# Flags for chart downloads.
TLS_ARGS=()
CA_BUNDLE=$WORK/ca.pem
: >"$CA_BUNDLE"
[[ -s $CONFIG_DIR/ca-file.pem ]] && cat "$CONFIG_DIR/ca-file.pem" >>"$CA_BUNDLE"
if [[ -d $CA_DIR ]]; then
  for f in "$CA_DIR"/*; do [[ -f $f ]] && cat "$f" >>"$CA_BUNDLE"; done
fi
[[ -s $CA_BUNDLE ]] && TLS_ARGS+=(--ca-file "$CA_BUNDLE")
[[ ${INSECURE_SKIP_TLS_VERIFY:-false} == true ]] && TLS_ARGS+=(--insecure-skip-tls-verify)
FETCH_ARGS=("${TLS_ARGS[@]}")
[[ ${PLAIN_HTTP:-false} == true ]] && FETCH_ARGS+=(--plain-http)
TIMEOUT_ARGS=()
[[ -n ${TIMEOUT:-} ]] && TIMEOUT_ARGS=(--timeout "$TIMEOUT")

add_repos() {
  case $CHART in
    http://* | https://* | oci://* | /*) ;;
    stable/*)
      "$HELM" repo add stable "$STABLE_REPO_URL" "${TLS_ARGS[@]}" >&2
      "$HELM" repo update >&2
      ;;
  esac
  if [[ -n ${REPO:-} ]]; then
    local auth=()
    if [[ -f $AUTH_DIR/username && -f $AUTH_DIR/password ]]; then
      auth=(--username "$(cat "$AUTH_DIR/username")" --password-stdin)
    elif [[ -f $AUTH_DIR/tls.crt && -f $AUTH_DIR/tls.key ]]; then
      auth=(--cert-file "$AUTH_DIR/tls.crt" --key-file "$AUTH_DIR/tls.key")
    fi
    [[ ${AUTH_PASS_CREDENTIALS:-false} == true ]] && auth+=(--pass-credentials)
    if [[ ${auth[*]:-} == *--password-stdin* ]]; then
      "$HELM" repo add "$NAME" "$REPO" --force-update "${auth[@]}" "${TLS_ARGS[@]}" <"$AUTH_DIR/password" >&2
    else
      "$HELM" repo add "$NAME" "$REPO" --force-update "${auth[@]}" "${TLS_ARGS[@]}" >&2
    fi
    "$HELM" repo update "$NAME" >&2
  fi
}

# The latest release: revision and status, from `helm history` (empty when there is none).
REVISION=""
STATUS=""
if history=$("$HELM" history "$NAME" --namespace "$TARGET_NAMESPACE" --max 1 --output json 2>"$WORK/history.err"); then
  REVISION=$(printf '%s' "$history" | sed -n 's/.*"revision":\([0-9][0-9]*\).*/\1/p')
  STATUS=$(printf '%s' "$history" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
elif ! grep -q 'release: not found' "$WORK/history.err"; then
  cat "$WORK/history.err" >&2
  die "cannot read the history of release $NAME in $TARGET_NAMESPACE"
fi

stale() {
  if [[ -n ${EXPECTED_RELEASE_REVISION:-} && -n $REVISION && $REVISION != "$EXPECTED_RELEASE_REVISION" ]]; then
    say "release $NAME is at revision $REVISION, this Job expected $EXPECTED_RELEASE_REVISION: another Job or a user changed it; nothing to do"
    exit 0
  fi
}

if [[ $COMMAND == delete ]]; then
  if [[ -z $REVISION ]]; then
    say "release $NAME not found in $TARGET_NAMESPACE; nothing to uninstall"
    exit 0
  fi
  stale
  say "uninstalling release $NAME (revision $REVISION, $STATUS) from $TARGET_NAMESPACE"
  "$HELM" uninstall "$NAME" --namespace "$TARGET_NAMESPACE" --wait "${TIMEOUT_ARGS[@]}" >&2 || say "helm uninstall of $NAME failed (ignored)"
  exit 0
fi

add_repos
VALUES=()
for f in "$CONFIG_DIR"/*.yaml; do [[ -f $f ]] && VALUES+=(--values "$f"); done
COMMON=("${FETCH_ARGS[@]}" "${TIMEOUT_ARGS[@]}" "${VALUES[@]}" --labels "$CONFIG_HASH_LABEL=${CONFIG_HASH:-}")
FORCE=()
[[ ${FORCE_CONFLICTS:-false} == true && ${SERVER_SIDE:-auto} != false ]] && FORCE=(--force-conflicts)

do_install() {
  local ss=${SERVER_SIDE:-auto}
  [[ $ss == auto ]] && ss=true
  say "installing release $NAME ($CHART) into $TARGET_NAMESPACE"
  "$HELM" install "$NAME" "$CHART" --namespace "$TARGET_NAMESPACE" "$@" "${COMMON[@]}" --server-side="$ss" "${FORCE[@]}" >&2
}

do_upgrade() {
  say "upgrading release $NAME (revision $REVISION, $STATUS) in $TARGET_NAMESPACE"
  "$HELM" upgrade "$NAME" "$CHART" --namespace "$TARGET_NAMESPACE" "$@" "${COMMON[@]}" --server-side="${SERVER_SIDE:-auto}" "${FORCE[@]}" >&2
}

if [[ -z $REVISION ]]; then
  do_install "$@"
  exit 0
fi
stale
case $STATUS in
  deployed | pending-upgrade | superseded)
    do_upgrade "$@"
    ;;
  *)
    # failed, unknown, uninstalled, pending-install, pending-rollback, uninstalling: the failure policy.
    case ${FAILURE_POLICY:-reinstall} in
      abort) die "release $NAME is $STATUS and the failure policy is abort: waiting for operator intervention" 1 ;;
      retry) do_upgrade "$@" ;;
      *)
        say "release $NAME is $STATUS; failure policy reinstall: uninstalling, then installing"
        "$HELM" uninstall "$NAME" --namespace "$TARGET_NAMESPACE" --wait "${TIMEOUT_ARGS[@]}" >&2 || say "helm uninstall of $NAME failed (ignored)"
        do_install "$@"
        ;;
    esac
    ;;
esac
