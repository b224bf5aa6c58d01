/**
 * Ends the run with one plain line, "tests: N passed, N failed" (", N skipped" when any were), so whatever reads the
 * end of the test output counts jest's own tests rather than a line some tool printed along the way.
 * Jest adds its summary reporter after every configured one, so the line is written once that has printed.
 */
class ClosingLineReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    setImmediate(() => process.stderr.write(`tests: ${line}\n`));
  }
}
module.exports = ClosingLineReporter;
