// A node:test reporter that counts leaf tests and writes one JSON line:
// {"passed":N,"failed":N,"failures":["file > name", ...]}
// run-tier.sh adds these lines up so the CI's last line counts every test of every tier.
export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    // Suites (describe) and file-level wrappers are not tests of their own.
    if (data.details?.type === 'suite') continue;
    if (data.nesting === 0 && data.name === data.file) continue;
    if (event.type === 'test:pass') {
      if (data.skip || data.todo) {
        // A skipped test is a failure here: prerequisites must fail loudly (DESIGN.md, test tiers).
        failed++;
        failures.push(`${data.file ?? '?'} > ${data.name} (skipped: ${data.skip || data.todo})`);
      } else {
        passed++;
      }
    } else {
      failed++;
      failures.push(`${data.file ?? '?'} > ${data.name}`);
    }
  }
  yield JSON.stringify({ passed, failed, failures }) + '\n';
}
