// Writes a run's reports into its run directory: results.json (the source), report.html,
// summary.md and junit.xml. Each file is written atomically (a temp file, then a rename), so a
// reader never sees half a report and a crash never leaves a truncated results.json.
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BenchError } from '../harness/errors.ts';
import { Results } from './schema.ts';
import { describeIssues, RESULTS_FILE } from './load.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderJunit } from './junit.ts';

// The public surface of reports/, so callers import from one place.
export { readResults, parseResults, RESULTS_FILE } from './load.ts';
export { renderHtml } from './html.ts';
export { renderMarkdown } from './markdown.ts';
export { renderJunit } from './junit.ts';
export { compareResults, parsePercent, parseGates, DEFAULT_GATES } from './compare.ts';
export type { Gates, Comparison, CompareRow } from './compare.ts';

/** The files a run directory holds after writeReports, by name. */
export const REPORT_FILES = {
  json: RESULTS_FILE,
  html: 'report.html',
  markdown: 'summary.md',
  junit: 'junit.xml',
} as const;

/** Where writeReports put each file (absolute or as runDir was given). */
export interface WrittenReports {
  html: string;
  markdown: string;
  junit: string;
  json: string;
}

/**
 * Validates `results` against the schema, then writes results.json first (so a renderer that
 * fails still leaves the data to re-render with `bench report`), then report.html, summary.md and
 * junit.xml. Creates runDir when missing. Invalid results are saved as results.invalid.json and
 * reported as an internal error naming the bad fields.
 */
export async function writeReports(runDir: string, results: Results): Promise<WrittenReports> {
  await mkdir(runDir, { recursive: true });
  const paths: WrittenReports = {
    json: join(runDir, REPORT_FILES.json),
    html: join(runDir, REPORT_FILES.html),
    markdown: join(runDir, REPORT_FILES.markdown),
    junit: join(runDir, REPORT_FILES.junit),
  };
  const parsed = Results.safeParse(results);
  if (!parsed.success) {
    const kept = join(runDir, 'results.invalid.json');
    await writeAtomic(kept, JSON.stringify(results, null, 2) + '\n');
    throw new BenchError(
      'internal',
      `the run's results do not match the results.json schema: ${describeIssues(parsed.error.issues)}`,
      `this is a bug in bench; the raw results are in ${kept}`,
    );
  }
  const r = parsed.data;
  await writeAtomic(paths.json, JSON.stringify(r, null, 2) + '\n');
  await writeAtomic(paths.html, renderHtml(r));
  await writeAtomic(paths.markdown, renderMarkdown(r));
  await writeAtomic(paths.junit, renderJunit(r));
  return paths;
}

/** Writes a file so readers see the old content or the new, never a part: temp file, fsync, rename. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(content, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tmp).catch(() => {});
  }
}
