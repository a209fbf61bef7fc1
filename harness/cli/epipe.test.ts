// `bench status | head`: the reader goes away mid-output. The CLI ends quietly with its own exit
// code, not with an unhandled EPIPE stack trace.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let root = '';

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('stdout closed by its reader', () => {
  it('bench status | head ends quietly with exit 0', async () => {
    root = await mkdtemp(join(tmpdir(), 'bench-epipe-'));
    await chmod(root, 0o700);
    await mkdir(join(root, 'state'), { mode: 0o700 });
    // enough dead runs that the listing outgrows the pipe's buffer
    for (let i = 0; i < 400; i++) {
      const state = { runId: `r${i}`, slot: 1, runDir: `/nonexistent/r${i}`, dataDir: join(root, 'runs', `r${i}`), createdAt: '2026-01-01T00:00:00Z', harnessPid: 4194305, harnessStartTime: 1, cgroups: [], services: [{ name: 'pg', pid: 4194306, startTime: 1, dir: '/x', cgroups: [] }] };
      await writeFile(join(root, 'state', `r${i}.json`), JSON.stringify(state));
    }
    const child = spawn(process.execPath, [join(repoRoot, 'bin/bench.js'), 'status'], { cwd: repoRoot, env: { ...process.env, BENCH_STATE_DIR: root, DOCKER_HOST: 'unix:///nonexistent.sock' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // like head -1: read the first chunk, then go away
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(err).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  }, 30_000);
});
