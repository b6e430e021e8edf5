/**
 * Fault injection for data-plane tests (issue 15): a shell wrapper that stands in for a restore tool
 * on PATH and makes chosen invocations fail. Test code only.
 *
 * State lives in `dir`: `count` (invocations so far, written by the wrapper), `at` (the invocation
 * numbers that fail, one per line, written by the test), `frac` (percent of an `ipset restore` input
 * applied for real before the failure), `hit` (appended by the wrapper: `<tool> <n>` per failure).
 * An `ipset` wrapper passes every subcommand but `restore` through untouched.
 */
export function faultWrapperScript(tool: string, real: string, dir: string): string {
  const ipset = tool === 'ipset';
  return `#!/bin/sh
${ipset ? `[ "$1" = restore ] || exec ${real} "$@"\n` : ''}n=$(cat ${dir}/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/count
if grep -qx "$n" ${dir}/at 2>/dev/null; then
  cat > ${dir}/input
  echo "${tool} $n" >> ${dir}/hit
${
  ipset
    ? `  total=$(wc -l < ${dir}/input); keep=$(( total * $(cat ${dir}/frac 2>/dev/null || echo 0) / 100 ))
  if [ "$keep" -gt 0 ]; then head -n "$keep" ${dir}/input | ${real} "$@" || exit 1; fi
  echo "ipset v7.17: Error in line $((keep + 1)): injected fault" >&2
  exit 1`
    : `  echo "${tool}: line 2 failed (injected fault)" >&2
  exit 1`
}
fi
exec ${real} "$@"
`;
}
