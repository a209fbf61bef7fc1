// bench status, bench down and bench drill in-process, with a private state root and no Docker
// daemon (DOCKER_HOST points nowhere): each runtime lists and reaps its own runs, and a drill
// that does not apply to the deployment is refused with its reason (exit 2) before anything starts.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTimeOf } from '../runtime/process.ts';
import { stateFile, writeState, type RunState } from '../runtime/state.ts';
import type { CliIO } from './io.ts';
import { runCli } from './main.ts';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bench-cli-down-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function bench(args: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { ...process.env, BENCH_STATE_DIR: root, DOCKER_HOST: 'unix:///nonexistent.sock' },
    isTTY: false,
    signal: new AbortController().signal,
    cwd: root,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

/** A native run whose harness is gone (this pid with another start time) and no service left. */
async function deadRun(runId: string): Promise<RunState> {
  const state: RunState = {
    runId,
    slot: 250,
    runDir: join(root, 'out', runId),
    dataDir: join(root, 'runs', runId),
    createdAt: new Date().toISOString(),
    harnessPid: process.pid,
    harnessStartTime: (startTimeOf(process.pid) ?? 0) + 1,
    cgroups: [],
    services: [],
  };
  await writeState(state, { root });
  return state;
}

describe('bench status and bench down ask each runtime', () => {
  it('with nothing anywhere: status says so, down has nothing to stop, down <id> is a usage error', async () => {
    expect(await bench(['status'])).toMatchObject({ code: 0, out: 'no run is up (bench up --phase N starts one)\n' });
    expect(await bench(['down'])).toMatchObject({ code: 0, out: 'nothing to stop\n' });
    const r = await bench(['down', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no run nope — nothing is running \(bench status\)/);
  });

  it('a native run left by a dead harness is listed (also as JSON), then taken down by its id', async () => {
    const s = await deadRun('p2-dead-1');
    const status = await bench(['status']);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`run p2-dead-1 (no plan.json in ${s.runDir})`);
    const json = JSON.parse((await bench(['status', '--json'])).out) as Record<string, { runId: string; harnessAlive: boolean }[]>;
    expect(json.docker).toEqual([]);
    expect(json.native!.map((r) => [r.runId, r.harnessAlive])).toEqual([['p2-dead-1', false]]);
    const wrong = await bench(['down', 'p2-other']);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/no run p2-other — known runs: p2-dead-1/);
    expect(existsSync(stateFile('p2-dead-1', root))).toBe(true);
    expect(await bench(['down', 'p2-dead-1'])).toMatchObject({ code: 0, out: 'stopped p2-dead-1\n' });
    expect(existsSync(stateFile('p2-dead-1', root))).toBe(false);
  });

  it('down without an id takes down every run', async () => {
    await deadRun('p1-a');
    await deadRun('p1-b');
    expect(await bench(['down'])).toMatchObject({ code: 0, out: 'stopped p1-a, p1-b\n' });
    expect(await bench(['status'])).toMatchObject({ out: 'no run is up (bench up --phase N starts one)\n' });
  });
});

describe('bench drill: by capability', () => {
  it('a drill that does not apply prints the reason and exits 2, before anything starts', async () => {
    const r = await bench(['drill', 'cache-outage', '--phase', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^bench: drill cache-outage does not apply to phase 3: it kills the read cache \(Redis cache-aside\), and phase 3 has none — drills for phase 3: dead-server, hung-server, db-primary-failure, replica-loss, slow-database, network-partition\n$/);
    const opts = await bench(['drill', 'replica-loss', '--phase', '4', '--replicas', '0']);
    expect(opts.code).toBe(2);
    expect(opts.err).toMatch(/drill replica-loss does not apply to phase 4: it kills a read replica, and phase 4 has none here \(run with --replicas 1 or more\)/);
    expect(existsSync(join(root, 'state'))).toBe(false);
  });

  it('--list shows each phase with what applies and why the others do not; no name is a usage error', async () => {
    const r = await bench(['drill', '--list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^drills:\n {2}dead-server {9}SIGKILL one app server/);
    expect(r.out).toContain('phase 3 (default options):\n  yes  dead-server\n  yes  hung-server\n  yes  db-primary-failure\n  yes  replica-loss\n  no   cache-outage        it kills the read cache (Redis cache-aside), and phase 3 has none\n');
    // phase 7 deploys: its drills are listed like any other phase's
    expect(r.out).toContain('phase 7 (default options):\n  yes  dead-server\n');
    const none = await bench(['drill']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/bench drill needs a drill name — drills: dead-server, .* \(bench drill --list shows which apply per phase\)/);
  });
});
