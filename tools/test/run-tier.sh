#!/usr/bin/env bash
# Runs one test tier and appends its counts to .cache/test-results/counts.jsonl.
#   unit       T0: src/**/*.test.ts of every app and lib, and tools/lint/**/*.test.ts (pure, no root)
#   dataplane  T1: test/dataplane/**/*.test.ts (root, network namespaces, real iptables)
#   t2         T2: test/t2/**/*.test.ts against a local control plane (e2e/t2/up)
#   e2e        T3: test/kind/**/*.test.ts against a dual-stack kind cluster (e2e/kind/up --external-node
#              --ip-family dual; PORTICO_KIND_IP_FAMILY=ipv4 for IPv4 only), deleted
#              afterwards (KIND_KEEP=1 keeps it); on failure its node logs go to .cache/kind-logs/<name>-<time>/
# Tests run on Jest (docs/decisions.md D4): the whole unit tier through `nx run-many -t test` (each
# project's jest.config.mjs), a tier with FILEs or any other tier through tools/jest/tier.config.mjs;
# dataplane, t2 and e2e run one file at a time (--runInBand), in path order.
# Usage: tools/test/run-tier.sh TIER [FILE...]
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export PATH="$root/node_modules/.bin:$PATH"
tier=${1:?usage: run-tier.sh unit|dataplane|t2|e2e [FILE...]}
shift
results=$root/.cache/test-results
mkdir -p "$results"

case $tier in
  unit) pattern='src/**/*.test.ts'; concurrency=2 ;;
  dataplane) pattern='test/dataplane/**/*.test.ts'; concurrency=1 ;;
  t2) pattern='test/t2/**/*.test.ts'; concurrency=1 ;;
  e2e) pattern='test/kind/**/*.test.ts'; concurrency=1 ;;
  *) echo "run-tier.sh: unknown tier '$tier' (want unit, dataplane, t2 or e2e)" >&2; exit 2 ;;
esac

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  shopt -s globstar nullglob
  for dir in apps/* libs/* e2e bench tools deploy; do
    [ -d "$dir" ] || continue
    for f in "$dir"/$pattern; do files+=("$f"); done
  done
  # The lint rules' own tests (the `tools` project) are unit tests outside any src/.
  if [ "$tier" = unit ]; then for f in tools/lint/**/*.test.ts; do files+=("$f"); done; fi
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "run-tier.sh: no $tier test files found" >&2
  echo '{"passed":0,"failed":1,"failures":["'"$tier"': no test files found"]}' >> "$results/counts.jsonl"
  exit 1
fi

if [ "$tier" = t2 ]; then
  kubeconfig=$(e2e/t2/up | tail -n 1) || {
    echo "run-tier.sh: e2e/t2/up failed; T2 tests cannot run" >&2
    echo '{"passed":0,"failed":1,"failures":["t2: control plane did not start (e2e/t2/up)"]}' >> "$results/counts.jsonl"
    exit 1
  }
  export KUBECONFIG=$kubeconfig
  [ "${T2_KEEP:-}" = 1 ] || trap 'e2e/t2/down >/dev/null 2>&1 || true' EXIT
fi

if [ "$tier" = e2e ]; then
  # Dual-stack by default, so the IPv6 checks run (on an IPv4-only cluster they are skipped, and a
  # skip counts as failed).
  kubeconfig=$(e2e/kind/up --external-node --ip-family "${PORTICO_KIND_IP_FAMILY:-dual}" | tail -n 1) || {
    echo "run-tier.sh: e2e/kind/up failed; e2e tests cannot run (node logs, if any: .cache/kind-logs/)" >&2
    echo '{"passed":0,"failed":1,"failures":["e2e: kind cluster did not start (e2e/kind/up)"]}' >> "$results/counts.jsonl"
    exit 1
  }
  export KUBECONFIG=$kubeconfig PATH="$root/.cache/bin:$PATH"
fi

echo "== tier $tier: ${#files[@]} file(s)"
# Jest (docs/decisions.md D4); tools/jest/count-reporter.mjs writes the counts to PORTICO_COUNTS_OUT.
export PORTICO_TIER=$tier
rm -f "$results/$tier.json"
if [ "$tier" = unit ] && [ $# -eq 0 ]; then
  # The whole unit tier is the Nx `test` target of every project (cached by Nx; run-all.sh skips the
  # cache as CI does), two Jest workers each. Each project writes $results/unit/<project>.json.
  rm -rf "$results/unit"
  nx run-many -t test --outputStyle=static --parallel=1
  rc=$?
  node tools/jest/sum-counts.mjs "${#files[@]}" "$results/unit" "$rc" > "$results/$tier.json" || rc=1
else
  serial=(); [ "$tier" = unit ] || serial=(--runInBand)
  PORTICO_COUNTS_OUT="$results/$tier.json" tools/jest/jest -c tools/jest/tier.config.mjs "${serial[@]}" --runTestsByPath "${files[@]}"
  rc=$?
fi
if [ ! -s "$results/$tier.json" ]; then
  echo '{"passed":0,"failed":1,"failures":["'"$tier"': Jest wrote no counts (it did not start, or crashed)"]}' > "$results/$tier.json"
  rc=1
fi
cat "$results/$tier.json" >> "$results/counts.jsonl"
if [ "$tier" = e2e ]; then
  if [ $rc -ne 0 ]; then
    if [ "${KIND_KEEP:-}" = 1 ]; then
      logs=$(bash -c 'source e2e/kind/lib.sh && kind_tools && kind_export_logs' 2>/dev/null | tail -n 1)
    else
      logs=$(e2e/kind/down --export-logs 2>&1 | sed -n 's/.*node logs exported to //p')
    fi
    echo "run-tier.sh: e2e failed; kind node logs: ${logs:-none exported} (under .cache/kind-logs/)" >&2
  elif [ "${KIND_KEEP:-}" != 1 ]; then
    e2e/kind/down >/dev/null 2>&1 || echo "run-tier.sh: e2e/kind/down failed" >&2
  fi
fi
exit $rc
