// Benchmark: how long one reference app takes from spawn to its first 200 on /healthz, under the
// CPU quota its host size gives it (0.2 core: a cgroup made by the native runtime's own
// RunCgroups.createHost), beside a peer that pays only node's own start: a bare node:http server
// under the same quota. Starts are interleaved (the order rotates every round), so the drift of a
// shared machine hits every way alike: quote the ratios.
//
//   node bin/run-ts.js scripts/app-start.ts [--starts 10] [--cpus 0.2] [--store sqlite|postgres]
//        [--baseline <bundle dir>] [--out .runs/app-start.json]
//
// Ways: `bundle` (the current sources' bundle, built if missing, as the runtime starts it),
// `peer` (bare node), and with --baseline an older bundle directory (e.g. one from main, left in
// .tools/app-bundle/<key>) for a before/after in one run. Each bundle is started once first, kept
// alive until its V8 code cache is written, as every start after a deployment's first one finds it
// (that first start is reported apart). --store postgres: a throwaway PostgreSQL 15 (one shard)
// and Redis (sessions and cache), as an app of phases 3-5 starts: schema check, logins, pools.
//
// Every child is stopped by its pid; the cgroup, the servers and the temporary files are removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeCgroups, RunCgroups } from '../harness/runtime/cgroups.ts';
import { ensureBundle } from '../targets/app/bundle.ts';
import { PG_CREDENTIALS, PG_PASSWORD_ENV, REDIS_PASSWORD, REDIS_PASSWORD_ENV } from '../targets/app/config.ts';
import { freePort } from '../targets/app/testing/fixture-util.ts';
import { startPostgres, type StartedPostgres } from '../targets/app/testing/pg-fixture.ts';
import { startRedis, type StartedRedis } from '../targets/app/testing/redis-fixture.ts';
import { appStart } from '../targets/services/app.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 60_000;
/** the launcher writes the V8 code cache 3 s after a start that found none */
const CODE_CACHE_WRITTEN_MS = 3_500;

function usage(message: string): never {
  console.error(`app-start: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '10' },
    cpus: { type: 'string', default: '0.2' },
    store: { type: 'string', default: 'sqlite' },
    baseline: { type: 'string' },
    out: { type: 'string', default: '.runs/app-start.json' },
  },
});
const starts = Number(values.starts);
if (!Number.isInteger(starts) || starts < 1) usage(`--starts must be a positive integer, got ${values.starts}`);
const cpus = Number(values.cpus);
if (!(cpus > 0 && cpus <= 64)) usage(`--cpus must be a number of cores in (0, 64], got ${values.cpus}`);
const store = values.store!;
if (store !== 'sqlite' && store !== 'postgres') usage(`--store takes sqlite or postgres, got ${store}`);
const baselineDir = values.baseline ? resolve(values.baseline) : null;
if (baselineDir && !existsSync(join(baselineDir, 'start.cjs'))) usage(`--baseline ${baselineDir} holds no start.cjs: give a bundle directory (.tools/app-bundle/<key>)`);

/** Nearest-rank percentile (p in (0, 1]) of a non-empty list. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
}
const fix = (x: number | null, d = 2) => (x === null ? 'n/a' : x.toFixed(d));

/** CPU seconds (user + system, every thread) a process has used so far; 10 ms ticks. */
function cpuSeconds(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

interface Way {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** the bare peer takes its port as an argument, the app in its config */
  peer: boolean;
}

interface Sample {
  wall: number;
  cpu: number | null;
}

const tmp = mkdtempSync(join(tmpdir(), 'app-start-'));
const servers: { pg?: StartedPostgres; redis?: StartedRedis } = {};
let cgroups: RunCgroups | null = null;
const children = new Set<ChildProcess>();

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  }
  children.delete(child);
}

/** The app's runtime config for this run's store, listening on `port`. */
function appConfig(name: string, port: number) {
  const listen = { host: '127.0.0.1', port };
  if (store === 'sqlite') return { name, listen, store: { kind: 'sqlite', path: join(tmp, `${name}-${port}.db`) }, sessions: { kind: 'memory' }, cache: null };
  const redis = { name: 'redis', ...servers.redis!.endpoint };
  return {
    name,
    listen,
    store: { kind: 'postgres', strategy: 'range', shards: [{ name: 'a', range: [0, null], primary: { name: 'pg-a', ...servers.pg!.endpoint }, replicas: [] }], poolSize: 10 },
    sessions: { kind: 'redis', redis },
    cache: { redis, ttlSeconds: 3600 },
  };
}

/** One start: spawned inside the quota (the shell joins the cgroup before exec), timed to ready. */
async function once(way: Way, procs: string[], liveMs = 0): Promise<Sample> {
  const port = await freePort('127.0.0.1');
  const args = way.peer ? [...way.args, String(port)] : way.args;
  const env = { ...process.env, ...way.env, NODE_ENV: 'production', BENCH_APP_CONFIG: JSON.stringify(appConfig(`start-${way.name}`, port)) };
  const join_ = procs.map((f) => `echo $$ > '${f}'`).join(' && ');
  const t0 = performance.now();
  const child = spawn('/bin/sh', ['-c', `${join_ ? `${join_} && ` : ''}exec "$0" "$@"`, process.execPath, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
  try {
    const url = `http://127.0.0.1:${port}/healthz`;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${way.name} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr.trim()}`);
      if (performance.now() - t0 > READY_TIMEOUT_MS) throw new Error(`${way.name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
      const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      // 5 ms: the poll must not be what the figure measures
      await new Promise((r) => setTimeout(r, 5));
    }
    const sample = { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds(child.pid!) };
    if (liveMs > 0) await new Promise((r) => setTimeout(r, liveMs));
    return sample;
  } finally {
    await stop(child);
  }
}

function summarize(xs: Sample[]) {
  const walls = xs.map((s) => s.wall);
  const cpu = xs.every((s) => s.cpu !== null) ? xs.map((s) => s.cpu!) : null;
  return { wallS: walls, cpuS: cpu, medianS: percentile(walls, 0.5), p90S: percentile(walls, 0.9), cpuMedianS: cpu ? percentile(cpu, 0.5) : null };
}

async function main() {
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  if (store === 'postgres') {
    console.log('starting a throwaway PostgreSQL 15 and Redis (no quota) for the apps');
    [servers.pg, servers.redis] = await Promise.all([startPostgres({ name: 'app-start' }), startRedis({ name: 'app-start' })]);
  }
  const bundle = await ensureBundle({ repoRoot: ROOT });
  console.log(`bundle ${bundle.key}: ${bundle.built ? `built in ${bundle.seconds.toFixed(2)} s` : 'found'} (${bundle.dir})`);
  const secrets = { [PG_PASSWORD_ENV]: PG_CREDENTIALS.password, [REDIS_PASSWORD_ENV]: REDIS_PASSWORD };
  const current = appStart(ROOT, bundle, 'tsx');
  const ways: Way[] = [
    { name: 'bundle', args: current.args, env: { ...current.env, ...secrets }, peer: false },
    { name: 'peer', args: ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1')"], env: {}, peer: true },
  ];
  if (baselineDir) ways.push({ name: 'baseline', args: [join(baselineDir, 'start.cjs')], env: { NODE_PATH: join(ROOT, 'node_modules'), ...secrets }, peer: false });

  cgroups = new RunCgroups(await probeCgroups(), `app-start-${process.pid}`);
  const dirs = await cgroups.createHost('app', { cpus, memoryMb: 512 });
  const enforced = cgroups.warnings.length === 0 && dirs.length > 0;
  if (!enforced) console.log(`WARNING: the CPU quota is not enforced (${cgroups.warnings.join('; ') || 'no cgroups'}): the figures are at full speed`);
  const procs = dirs.map((d) => join(d, 'cgroup.procs'));
  console.log(`start-to-ready (spawn to the first 200 of /healthz) at ${cpus} CPU, store ${store}, ${starts} starts per way, interleaved`);

  const first: Record<string, Sample> = {};
  for (const w of ways.filter((w) => !w.peer)) {
    first[w.name] = await once(w, procs, CODE_CACHE_WRITTEN_MS);
    console.log(`  ${w.name}: first start ${fix(first[w.name]!.wall)} s, ${fix(first[w.name]!.cpu)} CPU-s (writes the V8 code cache if it had none)`);
  }
  const samples: Record<string, Sample[]> = Object.fromEntries(ways.map((w) => [w.name, []]));
  for (let r = 0; r < starts; r++) {
    const order = ways.map((_, i) => ways[(i + r) % ways.length]!);
    for (const w of order) samples[w.name]!.push(await once(w, procs));
    console.log(`  start ${String(r + 1).padStart(2)}: ${ways.map((w) => `${w.name} ${fix(samples[w.name]!.at(-1)!.wall)} s (${fix(samples[w.name]!.at(-1)!.cpu)} CPU-s)`).join(', ')}`);
  }
  const stats = Object.fromEntries(ways.map((w) => [w.name, summarize(samples[w.name]!)]));
  for (const w of ways) {
    const s = stats[w.name]!;
    console.log(`  ${w.name.padEnd(8)} median ${fix(s.medianS)} s, p90 ${fix(s.p90S)} s, CPU-s median ${fix(s.cpuMedianS)}`);
  }
  const ratio = (a: string, b: string) => (stats[a] && stats[b] ? stats[a]!.medianS / stats[b]!.medianS : null);
  const ratios = { bundleOverPeer: ratio('bundle', 'peer'), baselineOverBundle: ratio('baseline', 'bundle'), baselineOverPeer: ratio('baseline', 'peer') };
  console.log(`  ratios of medians: bundle/peer ${fix(ratios.bundleOverPeer)}x${baselineDir ? `, baseline/bundle ${fix(ratios.baselineOverBundle)}x, baseline/peer ${fix(ratios.baselineOverPeer)}x` : ''}`);
  const target = stats.bundle!.medianS < 1;
  console.log(`  target (bundle median < 1 s at ${cpus} CPU): ${target ? 'met' : `not met, ${(stats.bundle!.medianS - 1).toFixed(2)} s over`}`);

  const report = {
    startedAt: new Date().toISOString(),
    node: process.version,
    store,
    starts,
    cpus: enforced ? cpus : null,
    bundleKey: bundle.key,
    baseline: baselineDir,
    loadAvgBefore: loadBefore,
    loadAvgAfter: loadavg().map((x) => Number(x.toFixed(2))),
    firstStart: first,
    ways: stats,
    ratios,
    targetMet: enforced ? target : null,
  };
  const out = resolve(values.out!);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`written ${out}`);
}

try {
  await main();
} catch (e) {
  console.error(`app-start: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const c of [...children]) await stop(c);
  await (cgroups as RunCgroups | null)?.remove();
  await Promise.all([servers.pg?.stop(), servers.redis?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
}
