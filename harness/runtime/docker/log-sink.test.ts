// A container's log that cannot be written ends the run through onFatal, never as an uncaught
// exception (which would kill the harness without teardown).
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../errors.ts';
import { logSink } from './service.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('logSink', () => {
  it('writes what the container prints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-logsink-'));
    dirs.push(dir);
    const from = new PassThrough();
    const errors: BenchError[] = [];
    const to = logSink(join(dir, 'app.log'), from, (e) => errors.push(e));
    from.pipe(to);
    from.end('listening\n');
    await new Promise<void>((r) => to.once('finish', () => r()));
    expect(await readFile(join(dir, 'app.log'), 'utf8')).toBe('listening\n');
    expect(errors).toEqual([]);
  });

  it('reports a log it cannot write once, as an environment error, and stops both streams', async () => {
    const from = new PassThrough();
    const errors: BenchError[] = [];
    const to = logSink('/nonexistent-bench-dir/app.log', from, (e) => errors.push(e));
    from.pipe(to);
    from.write('a line\n');
    await new Promise<void>((r) => to.once('close', () => r()));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BenchError);
    expect(errors[0]!.code).toBe('environment');
    expect(errors[0]!.message).toMatch(/writing the log \/nonexistent-bench-dir\/app\.log failed: ENOENT/);
    expect(from.destroyed).toBe(true);
  });

  it('reports a failed stream from Docker the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-logsink-'));
    dirs.push(dir);
    const from = new PassThrough();
    const errors: BenchError[] = [];
    logSink(join(dir, 'app.log'), from, (e) => errors.push(e));
    from.destroy(new Error('socket hang up'));
    await new Promise((r) => setTimeout(r, 20));
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/the container output for .*app\.log failed: socket hang up/)]);
  });
});
