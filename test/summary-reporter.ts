// Ends the run with one plain line, "N passed, N failed, N skipped", that any CI log reader
// understands (vitest's own summary is decorated). A file that failed outside its tests (a
// beforeAll hook, an import) leaves its tests "skipped": the line says so, so that a run which
// failed never reads as "0 failed".
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    let brokenFiles = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') failedHere++;
        else counts.skipped++;
      }
      counts.failed += failedHere;
      if (module.state() === 'failed' && failedHere === 0) brokenFiles++;
    }
    const outside = [
      brokenFiles > 0 ? `${brokenFiles} file(s) failed outside their tests (a hook or an import)` : '',
      unhandledErrors.length > 0 ? `${unhandledErrors.length} unhandled error(s)` : '',
    ].filter(Boolean);
    process.stdout.write(
      `\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${outside.length > 0 ? `; ${outside.join(', ')}` : ''}\n`,
    );
  }
}
