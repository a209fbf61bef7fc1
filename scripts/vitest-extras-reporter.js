// A vitest reporter beside the JSON one, for what vitest's JSON report leaves out: the unhandled
// errors of a run (the JSON only says success: false) and the note each skipped test was skipped
// with (ctx.skip(note)). scripts/test-counts.js reads both files. Writes $BENCH_TEST_EXTRAS
// (default .runs/test-extras.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export default class ExtrasReporter {
  onTestRunEnd(testModules, unhandledErrors) {
    const file = resolve(process.env.BENCH_TEST_EXTRAS ?? '.runs/test-extras.json');
    const skipped = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'skipped') skipped.push({ file: m.moduleId, name: t.fullName, note: r.note ?? null });
      }
    }
    const errors = unhandledErrors.map((e) => String(e?.message ?? e).split('\n')[0]);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ unhandledErrors: errors.length, errors, skipped }, null, 2) + '\n');
  }
}
