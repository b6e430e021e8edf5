// Adds up the per-project counts of the unit tier (written by count-reporter.mjs through the Nx `test`
// targets) into one line, and checks that Jest ran as many test files as tools/test/run-tier.sh found:
// a test file outside every project's jest.config.mjs would otherwise be lost silently.
// Usage: node tools/jest/sum-counts.mjs EXPECTED_FILES DIR [NX_EXIT_CODE]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [expected, dir, nxExit = '0'] = process.argv.slice(2);
const sum = { passed: 0, failed: 0, failures: [], files: 0 };
let names = [];
try { names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort(); } catch { /* no project wrote counts */ }
for (const n of names) {
  const c = JSON.parse(readFileSync(join(dir, n), 'utf8'));
  sum.passed += c.passed;
  sum.failed += c.failed;
  sum.failures.push(...c.failures);
  sum.files += c.files ?? 0;
}
if (sum.files !== Number(expected)) {
  sum.failed++;
  sum.failures.push(`unit: run-tier.sh found ${expected} test files, the projects' Jest runs ran ${sum.files} (is a project without a jest.config.mjs, or did one fail to start?)`);
}
if (nxExit !== '0' && sum.failed === 0) {
  sum.failed++;
  sum.failures.push(`unit: nx run-many -t test exited ${nxExit} with no failing test counted (a project's Jest run failed to start; see its output)`);
}
process.stdout.write(JSON.stringify(sum) + '\n');
