// A crashed harness: a child brings phase 2 up with the Docker runtime and is SIGKILLed while its
// containers run. reapDocker finds the run by its labels alone (onlyDead: its harness is gone)
// and leaves no container, network, volume or data directory of it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDocker } from './client.ts';
import { listDockerRuns, reapDocker } from './docker.ts';
import { emptyDirAsRoot } from './reap.ts';
import { harnessLabel, LABEL_HARNESS, labelFilters, runLabels } from './labels.ts';
import { startTimeOf } from '../process.ts';
import { useTestDaemon } from './testing/dockerd.ts';

const daemon = await useTestDaemon();
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs hold-run.ts until it prints UP (bounded), then returns the child, still running. */
function holdRun(runId: string, runDir: string, timeoutMs: number, mode: 'hold' | 'detach' = 'hold', stateRoot = dirname(runDir)) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'harness/runtime/docker/testing/hold-run.ts'), runId, runDir, '2', mode], {
    cwd: repoRoot,
    env: { ...process.env, BENCH_STATE_DIR: stateRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const up = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no UP within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes(`UP ${runId}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hold-run exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, up, exited };
}

describe.skipIf(!daemon.available)('reapDocker after a crashed harness', () => {
  const docker = connectDocker(daemon.socketPath);
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds the run by its labels, sees its harness dead, and leaves nothing of it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'b-dkreap-'));
    dirs.push(root);
    const runId = `dkreap-${process.pid}`;
    const { child, up } = holdRun(runId, join(root, 'run'), 60_000);
    try {
      await up;
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));

    const filters = labelFilters(runId);
    const running = await docker.listContainers({ filters: { label: [...filters.label, 'bench.role=service'] } });
    expect(running.map((c) => c.Labels['bench.service']).sort()).toEqual(['app', 'pg-primary', 'toxiproxy']);
    const [info] = await listDockerRuns(docker, runId);
    expect(info).toMatchObject({ runId, harnessAlive: false, kept: false, harnessPid: child.pid });
    expect(info!.networks).toEqual([`bench-${runId}`]);
    expect(info!.volumes).toHaveLength(3);
    expect(existsSync(join(root, 'runs', runId))).toBe(true);

    // a run whose harness lives (this process) stands beside it: onlyDead must leave it alone
    const liveRun = `dklive-${process.pid}`;
    const live = await docker.createNetwork({ Name: `bench-${liveRun}`, Labels: runLabels(liveRun, { [LABEL_HARNESS]: harnessLabel(process.pid, startTimeOf(process.pid)) }) });
    let result;
    try {
      result = await reapDocker({ onlyDead: true, socketPath: daemon.socketPath, stateRoot: root });
      expect(result.runs).not.toContain(liveRun);
      expect(await docker.listNetworks({ filters: labelFilters(liveRun) })).toHaveLength(1);
    } finally {
      await live.remove();
    }
    expect(result.runs).toContain(runId);
    // each service and its network holder
    expect(result.containers.filter((c) => c.startsWith(`bench-${runId}-`))).toHaveLength(6);

    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    expect(existsSync(join(root, 'runs', runId))).toBe(false);
    // the logs are the run's record and stay
    expect(existsSync(join(root, 'run', 'logs', 'app.log'))).toBe(true);
    // nothing left to find
    expect(await listDockerRuns(docker, runId)).toEqual([]);
  }, 90_000);

  it('a detached run (bench up): its harness exits by itself, onlyDead leaves it, a reap by run id removes it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'b-dkkeep-'));
    dirs.push(root);
    const runId = `dkkeep-${process.pid}`;
    const { child, up, exited } = holdRun(runId, join(root, 'run'), 60_000, 'detach');
    try {
      await up;
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const filters = labelFilters(runId);
    expect(await docker.listContainers({ filters })).toHaveLength(6);
    const [info] = await listDockerRuns(docker, runId);
    expect(info).toMatchObject({ harnessAlive: false, kept: true });
    const spared = await reapDocker({ onlyDead: true, socketPath: daemon.socketPath, stateRoot: root });
    expect(spared.runs).not.toContain(runId);
    expect(await docker.listContainers({ filters })).toHaveLength(6);
    const removed = await reapDocker({ runId, socketPath: daemon.socketPath, stateRoot: root });
    expect(removed.runs).toEqual([runId]);
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
  }, 90_000);

  it("removes files of a container's user through a root container (a harness that is not root)", async () => {
    const root = await mkdtemp(join(tmpdir(), 'b-dkrm-'));
    dirs.push(root);
    const data = join(root, 'run', 'data');
    await mkdir(join(data, 'pg', 'data'), { recursive: true });
    await writeFile(join(data, 'pg', 'data', 'PG_VERSION'), '15\n');
    await chown(join(data, 'pg', 'data'), 999, 999);
    await chmod(join(data, 'pg', 'data'), 0o700);
    await writeFile(join(data, '.kept'), '');
    await emptyDirAsRoot(docker, data);
    expect(await readdir(data)).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: ['bench.role=cleanup'] } })).toEqual([]);
  }, 30_000);

  it('without a daemon there is nothing to reap: it says so instead of failing', async () => {
    const result = await reapDocker({ socketPath: '/tmp/bench-no-such-docker.sock' });
    expect(result.runs).toEqual([]);
    expect(result.skipped).toBe('Docker daemon not reachable at /tmp/bench-no-such-docker.sock');
  });
});
