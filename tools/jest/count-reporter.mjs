// A Jest reporter that counts tests and, when PORTICO_COUNTS_OUT names a file, writes one JSON line
// there: {"passed":N,"failed":N,"failures":["file > name", ...],"files":N}. tools/test/run-tier.sh adds these
// lines up so the CI's last line counts every test of every tier.
// Skipped and todo tests count as failed (a prerequisite must fail loudly: DESIGN.md, test tiers);
// a file that failed to load counts as one failed test, or more if it had failing tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

export default class CountReporter {
  constructor(globalConfig) {
    // With a name filter (-t / --testNamePattern) the tests it leaves out are not skips of their own.
    this.filtered = Boolean(globalConfig?.testNamePattern);
  }

  onRunComplete(_contexts, results) {
    const out = process.env['PORTICO_COUNTS_OUT'];
    if (!out) return;
    const counts = countResults(results, process.cwd(), this.filtered);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(counts) + '\n');
  }
}

export function countResults(results, root, filtered = false) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  for (const file of results.testResults) {
    const rel = relative(root, file.testFilePath);
    for (const t of file.testResults) {
      const name = [...t.ancestorTitles, t.title].join(' > ');
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') { failed++; failures.push(`${rel} > ${name}`); }
      else if (filtered && t.status === 'pending') continue;
      else { failed++; failures.push(`${rel} > ${name} (${t.status}: skipped tests count as failed)`); }
    }
    const fileFailed = file.testExecError || (file.failureMessage && file.numFailingTests === 0);
    if (fileFailed) {
      failed++;
      const msg = (file.testExecError?.message ?? file.failureMessage ?? '').replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n').find((l) => l.trim()) ?? '';
      failures.push(`${rel} > (the file failed outside its tests: ${msg.trim().slice(0, 200)})`);
    }
  }
  if (results.testResults.length === 0 && results.numTotalTestSuites === 0) {
    failed++;
    failures.push('no test files ran');
  }
  return { passed, failed, failures, files: results.numTotalTestSuites };
}
