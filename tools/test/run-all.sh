#!/usr/bin/env bash
# The one test command (README): checks, then every tier, then one line "N passed, N failed".
# Tiers T1 (dataplane), T2 and e2e (kind, T3: Docker) need root; run as root (CI does).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export PATH="$root/node_modules/.bin:$PATH"
results=$root/.cache/test-results
rm -rf "$results"; mkdir -p "$results"
: > "$results/counts.jsonl"

check() { # check NAME CMD... : a build step counted as one test
  local name=$1; shift
  echo "== check $name: $*"
  if "$@"; then
    echo '{"passed":1,"failed":0,"failures":[]}' >> "$results/counts.jsonl"
  else
    echo '{"passed":0,"failed":1,"failures":["check: '"$name"'"]}' >> "$results/counts.jsonl"
  fi
}

check typecheck npx tsc -p tsconfig.json --noEmit
check lint npx nx run-many -t lint --outputStyle=static --skipNxCache
check build npx nx run-many -t build --outputStyle=static --skipNxCache
check jest-only node tools/jest/codemod.mjs --check   # no test file imports node:test (D4)
# The unit tier goes through Nx (`nx run-many -t test`): no cached results here, as for the checks.
export NX_SKIP_NX_CACHE=true
tiers=${PORTICO_TIERS:-unit dataplane t2 e2e}
for tier in $tiers; do
  bash tools/test/run-tier.sh "$tier"
done

node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean);
let passed = 0, failed = 0; const failures = [];
for (const l of lines) { const c = JSON.parse(l); passed += c.passed; failed += c.failed; failures.push(...c.failures); }
if (failures.length) { console.log("failed:"); for (const f of failures) console.log("  " + f); }
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
' "$results/counts.jsonl"
