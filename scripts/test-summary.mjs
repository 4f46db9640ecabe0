// Prints vitest's JSON report as one closing line: "tests: N passed, N failed, N skipped".
// A run with no test executed, or a skipped test, is a failure: tests that need Spark or PostgreSQL never skip.
import { readFileSync } from 'node:fs'

const file = process.argv[2]
let report
try {
  report = JSON.parse(readFileSync(file, 'utf8'))
} catch {
  console.log('tests: 0 passed, 1 failed')
  console.error(`no vitest report at ${file}: the test run did not finish`)
  process.exit(1)
}
const passed = report.numPassedTests ?? 0
const failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0)
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
if (skipped > 0) console.error('skipped tests are not allowed: every test runs against the real services')
process.exit(failed > 0 || skipped > 0 || passed === 0 ? 1 : 0)
