/**
 * Fault injection for data-plane tests (issue 15): a shell wrapper that stands in for a restore tool
 * on PATH and makes chosen invocations fail, or kill the program that runs them. Test code only.
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

/**
 * A wrapper like {@link faultWrapperScript} whose chosen invocation SIGKILLs the program under test
 * (the `kill -9` campaign of issue 15). The test writes that program's pid to `dir/pid` (the wrapper
 * waits for it: the tool may be started by a helper process, such as netpol-agent's command shell).
 * State in `dir`: `count` and `at` as above, `mode` and `frac`:
 * - `agent`: the program alone dies; the tool then runs on its whole input (it already has it, as a
 *   tool started from the program's shell has its whole here-document);
 * - `container`: the tool applies the first `frac` percent of its input lines, then the program's
 *   process group and the wrapper's own (the command shell's) are killed at once (a container's
 *   death; a tool dies between two of its lines: `ipset restore` keeps the lines it did,
 *   `iptables-restore` commits nothing without its `COMMIT`).
 * `hit` gets `<tool> <n> <kept>/<lines> <mode>`.
 */
export function killWrapperScript(tool: string, real: string, dir: string): string {
  return `#!/bin/sh
${tool === 'ipset' ? `[ "$1" = restore ] || exec ${real} "$@"\n` : ''}n=$(cat ${dir}/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/count
grep -qx "$n" ${dir}/at 2>/dev/null || exec ${real} "$@"
i=0; while [ ! -s ${dir}/pid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
pid=$(cat ${dir}/pid)
cat > ${dir}/input
total=$(wc -l < ${dir}/input); keep=$(( total * $(cat ${dir}/frac 2>/dev/null || echo 0) / 100 ))
mode=$(cat ${dir}/mode 2>/dev/null || echo agent)
if [ "$mode" = container ]; then
  echo "${tool} $n $keep/$total $mode" >> ${dir}/hit
  head -n "$keep" ${dir}/input | ${real} "$@"
  own=$(cut -d' ' -f5 /proc/$$/stat)
  kill -9 -"$pid" 2>/dev/null
  kill -9 -"$own"
else
  echo "${tool} $n $total/$total $mode" >> ${dir}/hit
  kill -9 "$pid"
  exec ${real} "$@" < ${dir}/input
fi
exit 1
`;
}
