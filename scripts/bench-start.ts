// Benchmark of how fast a deployment gets going, each figure beside its peer in the same run:
//   app start   start-to-ready of the reference app at 0.2 CPU (a cgroup quota, as its host size):
//               from the prebuilt bundle vs through tsx (the old way), interleaved, N rounds
//   seeding     1e6 users into 1 and into 2 Postgres shards by seedPostgres (binary COPY, key
//               after; and the text/key-during variants), vs psql's \copy of the same rows from a
//               CSV into one shard (throwaway servers, no CPU quota)
//   deploy      phase 5 as `bench up --phase 5 --users 1e6` does it: deploy and seed times; then
//               its shards reseeded N times with the primary key built after vs during the load
//
//   npm run bench:start -- [--rounds 3] [--users 1e6] [--skip seed,deploy] [--out .runs/bench-start.json]
//
// This machine is shared and its speed drifts: quote the ratios, not the absolute figures.
// Every child is stopped by its pid; the deployment is torn down by its own handle.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseCount } from '../harness/cli/parse.ts';
import { probeCgroups, RunCgroups } from '../harness/runtime/cgroups.ts';
import { runCommand } from '../harness/runtime/process.ts';
import { resolveRunConfig } from '../harness/run/config.ts';
import { deployTarget } from '../harness/run/lifecycle.ts';
import { storeOf } from '../harness/run/seed.ts';
import { ensureBundle } from '../targets/app/bundle.ts';
import { PG_CREDENTIALS } from '../targets/app/config.ts';
import { seededUser, seedPostgres, type CopyOptions } from '../targets/app/seed.ts';
import { shardRanges } from '../targets/app/store/shard-router.ts';
import { startPostgres, type StartedPostgres } from '../targets/app/testing/pg-fixture.ts';
import { freePort } from '../targets/app/testing/fixture-util.ts';
import { appStart } from '../targets/services/app.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const APP_CPUS = 0.2;
const READY_TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    users: { type: 'string', default: '1e6' },
    skip: { type: 'string', default: '' },
    out: { type: 'string', default: '.runs/bench-start.json' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('bench-start: --rounds must be a positive integer');
  process.exit(2);
}
let users: number;
try {
  users = parseCount('--users', values.users!);
} catch (e) {
  console.error(`bench-start: ${(e as Error).message}`);
  process.exit(2);
}
const skip = new Set(values.skip!.split(',').filter(Boolean));
for (const s of skip) {
  if (!['start', 'seed', 'deploy'].includes(s)) {
    console.error(`bench-start: --skip takes start, seed, deploy; got ${s}`);
    process.exit(2);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f2 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
const load = async () => (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2)));

const report: Record<string, unknown> = { startedAt: new Date().toISOString(), rounds, users, node: process.version, loadAvgBefore: await load() };
const tmp = mkdtempSync(join(tmpdir(), 'bench-start-'));
try {
  if (!skip.has('start')) report.appStart = await benchAppStart();
  if (!skip.has('seed')) report.seeding = await benchSeeding();
  if (!skip.has('deploy')) report.deploy = await benchDeploy();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
report.loadAvgAfter = await load();
const out = resolve(values.out!);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwritten ${out}`);

// ---- app start ----------------------------------------------------------------------------

/** Spawns node with `args` inside the quota cgroup (the shell joins it before exec: no unthrottled moment). */
function spawnInCgroup(procsFiles: string[], args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const join = procsFiles.map((f) => `echo $$ > '${f}'`).join(' && ');
  return spawn('/bin/sh', ['-c', `${join ? `${join} && ` : ''}exec "$0" "$@"`, process.execPath, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CPU seconds (user + system) a process has used so far, from /proc (10 ms ticks). */
function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

async function readyAfter(child: ChildProcess, url: string, t0: number): Promise<number> {
  let exited: string | null = null;
  child.once('exit', (code, sig) => (exited = `exited (${code ?? sig})`));
  const deadline = t0 + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (exited) throw new Error(`the app ${exited} before it was ready`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (r.status === 200) return (performance.now() - t0) / 1000;
    } catch {
      // not listening yet
    }
    // 10 ms: the poll must not be what the figure measures
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the app was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(t);
}

async function benchAppStart() {
  console.log(`app start-to-ready at ${APP_CPUS} CPU (sqlite store, memory sessions), ${rounds} rounds, interleaved`);
  const bundle = await ensureBundle({ repoRoot: ROOT });
  console.log(`  bundle ${bundle.key}: ${bundle.built ? `built in ${bundle.seconds.toFixed(2)} s` : `found in ${bundle.seconds.toFixed(3)} s`}`);
  const cgroups = new RunCgroups(await probeCgroups(), `bench-start-${process.pid}`);
  const dirs = await cgroups.createHost('app', { cpus: APP_CPUS, memoryMb: 512 });
  const enforced = cgroups.warnings.length === 0 && dirs.length > 0;
  if (!enforced) console.log(`  WARNING: the CPU quota is not enforced (${cgroups.warnings.join('; ') || 'no cgroups'}): figures are at full speed`);
  const procs = dirs.map((d) => join(d, 'cgroup.procs'));
  const ways = { bundle: appStart(ROOT, bundle, 'tsx'), tsx: appStart(ROOT, null, 'tsx') };
  /** wall seconds from spawn to the first 200 of /healthz, and the CPU seconds the app used by then */
  const once = async (way: keyof typeof ways, liveMs = 0): Promise<{ wall: number; cpu: number | null }> => {
    const port = await freePort('127.0.0.1');
    const config = { name: `start-${way}`, listen: { host: '127.0.0.1', port }, store: { kind: 'sqlite', path: join(tmp, `${way}-${port}.db`) }, sessions: { kind: 'memory' }, cache: null };
    const env = { ...process.env, ...ways[way].env, BENCH_APP_CONFIG: JSON.stringify(config), NODE_ENV: 'production' };
    const t0 = performance.now();
    const child = spawnInCgroup(procs, ways[way].args, env);
    try {
      const wall = await readyAfter(child, `http://127.0.0.1:${port}/healthz`, t0);
      const cpu = cpuSecondsOf(child.pid!);
      if (liveMs > 0) await new Promise((r) => setTimeout(r, liveMs));
      return { wall, cpu };
    } finally {
      await stop(child);
    }
  };
  const result = {
    cpus: enforced ? APP_CPUS : null,
    bundleKey: bundle.key,
    firstBundleStart: null as { wall: number; cpu: number | null } | null,
    /** wall seconds to ready, per round */
    bundle: [] as number[],
    tsx: [] as number[],
    ratios: [] as number[],
    /** CPU seconds used by then: the figure that contention on a shared machine moves least */
    bundleCpu: [] as Array<number | null>,
    tsxCpu: [] as Array<number | null>,
  };
  try {
    // the first start of a bundle compiles it and leaves V8's code cache behind (after 3 s);
    // every later start, as in a deployment's restarts and next runs, reads it
    result.firstBundleStart = await once('bundle', 3_500);
    console.log(`  first start of this bundle (V8 code cache written afterwards, if it was missing): ${result.firstBundleStart.wall.toFixed(2)} s, ${f2(result.firstBundleStart.cpu)} CPU-s`);
    for (let r = 0; r < rounds; r++) {
      const order: Array<keyof typeof ways> = r % 2 === 0 ? ['bundle', 'tsx'] : ['tsx', 'bundle'];
      const got: Record<string, { wall: number; cpu: number | null }> = {};
      for (const way of order) got[way] = await once(way);
      const b = got.bundle!;
      const t = got.tsx!;
      result.bundle.push(b.wall);
      result.tsx.push(t.wall);
      result.ratios.push(t.wall / b.wall);
      result.bundleCpu.push(b.cpu);
      result.tsxCpu.push(t.cpu);
      console.log(`  round ${r + 1}: bundle ${b.wall.toFixed(2)} s (${f2(b.cpu)} CPU-s), tsx ${t.wall.toFixed(2)} s (${f2(t.cpu)} CPU-s); tsx/bundle ${(t.wall / b.wall).toFixed(1)}x`);
    }
  } finally {
    await cgroups.remove();
  }
  const cpus = (xs: Array<number | null>) => (xs.every((x) => x !== null) ? median(xs as number[]) : null);
  const summary = {
    bundleMedianS: median(result.bundle),
    tsxMedianS: median(result.tsx),
    ratioMedian: median(result.ratios),
    bundleCpuMedianS: cpus(result.bundleCpu),
    tsxCpuMedianS: cpus(result.tsxCpu),
  };
  console.log(`  median: bundle ${f2(summary.bundleMedianS)} s (${f2(summary.bundleCpuMedianS)} CPU-s), tsx ${f2(summary.tsxMedianS)} s (${f2(summary.tsxCpuMedianS)} CPU-s), wall ratio ${f2(summary.ratioMedian)}x`);
  return { ...result, ...summary };
}

// ---- seeding ------------------------------------------------------------------------------

async function benchSeeding() {
  console.log(`seeding ${users.toLocaleString('en-US')} users (throwaway Postgres 15, no CPU quota), ${rounds} rounds, interleaved`);
  const servers: StartedPostgres[] = await Promise.all([startPostgres({ name: 'seed-1' }), startPostgres({ name: 'seed-2' })]);
  try {
    const one = [{ name: 'one', range: [0, null] as [number, null], primary: servers[0]!.endpoint }];
    const two = shardRanges(users, 2).map((range, i) => ({ name: `s${i}`, range, primary: servers[i]!.endpoint }));
    // the peer's input: the same rows as CSV, written before the clock starts
    const csv = join(tmp, 'users.csv');
    writeCsv(csv);
    const cases: Array<{ name: string; run: () => Promise<number> }> = [
      { name: '1 shard, binary COPY, key after (default)', run: async () => (await seedPostgres(one, 'range', users, 42)).seconds },
      { name: '2 shards, binary COPY, key after (default)', run: async () => (await seedPostgres(two, 'range', users, 42)).seconds },
      ...variants().map((v) => ({ name: `2 shards, ${v.format} COPY, key ${v.indexAfter ? 'after' : 'during'}`, run: async () => (await seedPostgres(two, 'range', users, 42, undefined, v)).seconds })),
      { name: 'peer: psql \\copy of the same rows from CSV, 1 shard, key during', run: () => psqlCopy(servers[0]!, csv) },
    ];
    const times: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
    for (let r = 0; r < rounds; r++) {
      // rotate the order each round: drift hits every case alike
      const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
      for (const c of order) times[c.name]!.push(await c.run());
      console.log(`  round ${r + 1}: ${cases.map((c, i) => `#${i + 1} ${times[c.name]!.at(-1)!.toFixed(2)} s`).join(' | ')}`);
    }
    const medians = Object.fromEntries(cases.map((c) => [c.name, median(times[c.name]!)]));
    const peer = medians[cases.at(-1)!.name]!;
    cases.forEach((c, i) => console.log(`  #${i + 1} ${c.name}: median ${f2(medians[c.name]!)} s${c === cases.at(-1) ? '' : ` (peer/this ${f2(peer / medians[c.name]!)}x)`}`));
    return { times, medians, peerOverDefault1Shard: peer / medians[cases[0]!.name]!, peerOverDefault2Shards: peer / medians[cases[1]!.name]! };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function variants(): Required<CopyOptions>[] {
  return [
    { format: 'binary', indexAfter: false },
    { format: 'text', indexAfter: true },
    { format: 'text', indexAfter: false },
  ];
}

function writeCsv(path: string): void {
  const parts: string[] = [];
  for (let id = 1; id <= users; id++) {
    const u = seededUser(42, id);
    parts.push(`${id},${u.name},${u.email},${u.createdAt}\n`);
  }
  writeFileSync(path, parts.join(''));
}

/** psql's client-side \copy into an emptied table with its key, timed around psql itself. */
async function psqlCopy(server: StartedPostgres, csv: string): Promise<number> {
  const c = new pg.Client({ host: server.endpoint.host, port: server.endpoint.port, ...PG_CREDENTIALS });
  await c.connect();
  try {
    await c.query('TRUNCATE users');
  } finally {
    await c.end();
  }
  const t0 = performance.now();
  await runCommand('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.endpoint.host, '-p', String(server.endpoint.port), '-U', PG_CREDENTIALS.user, '-d', PG_CREDENTIALS.database, '-c', `\\copy users (id, name, email, created_at) FROM '${csv}' WITH (FORMAT csv)`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: PG_CREDENTIALS.password },
    timeoutMs: 300_000,
  });
  return (performance.now() - t0) / 1000;
}

// ---- deploy -------------------------------------------------------------------------------

async function benchDeploy() {
  console.log(`deploy of phase 5 with ${users.toLocaleString('en-US')} users (bench up), once`);
  const config = { ...resolveRunConfig({ phase: '5', users: String(users) }, process.env), keep: false };
  const lines: string[] = [];
  const io = { progress: (l: string) => lines.push(l), write: () => {}, isTTY: false, signal: new AbortController().signal, cwd: tmp };
  const deployed = await deployTarget(config, io);
  try {
    const ready = lines.filter((l) => / ready in /.test(l));
    for (const l of ready.filter((l) => /^app-/.test(l))) console.log(`  ${l}`);
    console.log(`  deploy ${deployed.timings.deploy!.toFixed(2)} s, seed ${deployed.timings.seed!.toFixed(2)} s (run ${deployed.runId})`);
    // the key-after choice measured where it matters: the deployment's own shards (0.5 CPU each,
    // streaming to a replica), reseeded with the key built after vs during the load, interleaved
    const store = storeOf(deployed.deployment);
    const reseeds: Record<'after' | 'during', number[]> = { after: [], during: [] };
    if (store?.kind === 'postgres') {
      const shards = store.shards.map((x) => ({ name: x.name, range: x.range, primary: x.primary }));
      for (let r = 0; r < rounds; r++) {
        for (const key of r % 2 === 0 ? (['after', 'during'] as const) : (['during', 'after'] as const)) {
          reseeds[key].push((await seedPostgres(shards, store.strategy, users, config.seed, undefined, { format: 'binary', indexAfter: key === 'after' })).seconds);
        }
        console.log(`  reseed round ${r + 1}: key after ${reseeds.after.at(-1)!.toFixed(2)} s, key during ${reseeds.during.at(-1)!.toFixed(2)} s`);
      }
      console.log(`  reseed median: key after ${f2(median(reseeds.after))} s, key during ${f2(median(reseeds.during))} s`);
    }
    return {
      runId: deployed.runId,
      deployS: deployed.timings.deploy,
      seedS: deployed.timings.seed,
      readyLines: ready,
      reseedKeyAfterS: reseeds.after,
      reseedKeyDuringS: reseeds.during,
      reseedKeyAfterMedianS: median(reseeds.after),
      reseedKeyDuringMedianS: median(reseeds.during),
    };
  } finally {
    await deployed.metrics?.close();
    await deployed.deployment.down();
  }
}
