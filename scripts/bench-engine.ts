// Benchmark of the embedded load engine against wrk and autocannon: requests completed per
// generator CPU-second, every tool pinned to cpu 0 and the target (nginx, or node:http without
// nginx) pinned to cpu 1, interleaved rounds in one run (this machine's speed drifts, so only
// ratios are compared). wrk and autocannon are closed-loop (as fast as their connections go); the
// engine runs open-loop at --rate: by default (auto) the highest rate it holds on its core, found
// by short calibration steps before the rounds (from --start-rate 20000, x1.15 a step). Each round
// gives the engine's figure over its whole run and over its steady part (after its 1 s ramp).
//
//   npm run bench:engine -- [--seconds 10] [--rounds 3] [--rate auto|N] [--out .runs/bench-engine.json]
//   npm run bench:engine -- --baseline /tmp/bench-before [--rounds 5]
//     also runs the engine of another checkout (say the commit before a change, from git archive)
//     in the same rounds, so a change's effect is read as engine/base from one run; --engine-only
//     leaves wrk and autocannon out (more rounds of the two engines in the same time)
//   npm run bench:engine -- --threads 2 [--seconds 8] [--rounds 1] [--start-rate 4000] [--step 1.2]
//     --generator-threads: the highest open-model rate 1 thread and N threads each sustain (not
//     saturated: lag above 100 ms for 2 s; nothing dropped; >= 99% of the offered rate completed),
//     searched upwards step by step, the two interleaved in one run; generators pinned to the first
//     N cpus, the target to the next one (or the last, shared, on a machine with N cpus or fewer).
//   npm run bench:engine -- --soak 300 [--soak-rate 5000] [--soak-workload write-heavy]
//     the engine alone: is its memory flat? By default the soak sends writes and records them in a
//     drill's write log (chaos/write-log.ts), which spills to a file past its bound: the memory a
//     write check costs the generator is part of what is measured. --soak-workload static: none.
//
// Every child is bounded (a hard kill after its duration plus a margin) and stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { staticAssets, workloads } from '../loadtests/workloads.ts';
import type { Stage } from '../reports/schema.ts';
import { rssTrend, type RssTrend } from './soak-stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GENERATOR_CPU = '0';
const TARGET_CPU = '1';
// Every static asset is served at this size: the benchmark measures the generator's cost per
// request, not copying 250 kB images over loopback.
const ASSET_BYTES = 1500;

interface EngineRun {
  requests: number;
  ok: number;
  errors: number;
  dropped: number;
  cpuS: number;
  /** the same CPU split: user space (JS, V8, libuv) and the kernel (syscalls, loopback TCP) */
  cpuUserS?: number;
  cpuSysS?: number;
  wallS: number;
  p50: number | null;
  p99: number | null;
  saturated: boolean;
  maxLagMs: number;
  peakRssMb: number;
  /** the schedule's requests (offered) */
  offered?: number;
  /** the same figures over the steady part only: after the ramp, whole seconds of the schedule */
  steady?: { fromS: number; seconds: number; requests: number; cpuS: number; cpuUserS: number; cpuSysS: number };
  /** soak with writes: what the write log recorded and how much of it went to its file */
  writeLog?: { acknowledged: number; indeterminate: number; spilled: number };
}

/** A closed-loop tool's run (wrk, autocannon): the same figures. */
interface WrkRun {
  requests: number;
  errors: number;
  cpuS: number;
  wallS: number;
  p50: number | null;
  p99: number | null;
}

const engineChild = process.argv.indexOf('--child-engine');
const autocannonChild = process.argv.indexOf('--child-autocannon');
if (engineChild !== -1) {
  await childEngine(JSON.parse(process.argv[engineChild + 1]) as ChildArgs);
} else if (autocannonChild !== -1) {
  await childAutocannon(JSON.parse(process.argv[autocannonChild + 1]) as { url: string; seconds: number; conns: number });
} else {
  await main();
}

// ---- the parent ----------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      rate: { type: 'string', default: 'auto' },
      connections: { type: 'string', default: '50' },
      'engine-connections': { type: 'string' },
      soak: { type: 'string' },
      'soak-rate': { type: 'string', default: '5000' },
      'soak-workload': { type: 'string', default: 'write-heavy' },
      out: { type: 'string', default: '.runs/bench-engine.json' },
      threads: { type: 'string' },
      baseline: { type: 'string' },
      'engine-only': { type: 'boolean', default: false },
      'start-rate': { type: 'string' },
      step: { type: 'string', default: '1.2' },
    },
  });
  const threads = values.threads === undefined ? 0 : positiveInt('--threads', values.threads, 64);
  // threads mode searches from a low rate (N threads share the cores with the target); the bench's
  // calibration from what one core of this kind of machine holds comfortably
  const startRate = positiveInt('--start-rate', values['start-rate'] ?? (threads > 0 ? '4000' : '20000'), 1_000_000);
  const stepFactor = Number(values.step);
  if (!(stepFactor > 1 && stepFactor <= 4)) {
    console.error(`--step must be a factor above 1 (at most 4), got ${values.step}`);
    process.exit(2);
  }
  const seconds = positiveInt('--seconds', values.seconds, 600);
  const rounds = positiveInt('--rounds', values.rounds, 20);
  const rate = values.rate === 'auto' ? null : positiveInt('--rate', values.rate, 1_000_000);
  const conns = positiveInt('--connections', values.connections, 10_000);
  const engineConns = values['engine-connections'] === undefined ? undefined : positiveInt('--engine-connections', values['engine-connections'], 10_000);
  const soak = values.soak === undefined ? 0 : positiveInt('--soak', values.soak, 24 * 3600);
  const soakRate = positiveInt('--soak-rate', values['soak-rate'], 1_000_000);
  const soakWorkload = values['soak-workload']!;
  if (soakWorkload !== 'write-heavy' && soakWorkload !== 'static') {
    console.error(`--soak-workload ${soakWorkload}: use write-heavy (writes recorded in a write log) or static`);
    process.exit(2);
  }
  const out = resolve(ROOT, values.out);

  const pinning = haveBinary('taskset') && availableParallelism() >= 2;
  if (!pinning) console.log('note: no taskset or fewer than 2 cpus: generator and target are not pinned apart');
  const dir = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  chmodSync(dir, 0o755); // nginx workers run as nobody when started by root
  // threads mode: the generator gets the first N cpus, the target the next (or the last, shared)
  const targetCpu = threads > 0 ? String(Math.min(threads, availableParallelism() - 1)) : TARGET_CPU;
  const target = await startTarget(dir, pinning, targetCpu);
  const cleanup = () => {
    target.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    console.log(`target: ${target.kind} on ${target.url}${pinning ? ` (cpu ${targetCpu})` : ''}; generators${pinning ? ` on cpu ${threads > 0 ? `0..${threads - 1}` : GENERATOR_CPU}` : ''}`);
    const report: Record<string, unknown> = {
      at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
      target: target.kind,
      pinned: pinning,
      assetBytes: ASSET_BYTES,
    };
    if (soak > 0) {
      report.soak = await runSoak(target.url, soak, soakRate, soakWorkload, pinning);
    } else if (threads > 0) {
      report.threads = await runThreadsMode({ url: target.url, threads, seconds, rounds, startRate, stepFactor, pinning, targetCpu });
    } else {
      // --engine-only (with --baseline): engine and base alone, more rounds in the same time
      const peers = !values['engine-only'];
      const wrkAvailable = peers && haveBinary('wrk');
      if (peers && !wrkAvailable) console.log('note: wrk not found: measuring the engine alone (apt-get install wrk)');
      const autocannonAvailable = peers && existsSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'));
      if (peers && !autocannonAvailable) console.log('note: autocannon not installed (npm ci): measuring without it');
      const baseline = values.baseline === undefined ? null : resolve(values.baseline);
      if (baseline !== null && !existsSync(join(baseline, 'scripts', 'bench-engine.ts'))) {
        console.error(`--baseline ${values.baseline}: no scripts/bench-engine.ts there (give a checkout of bench, e.g. from git worktree add or git archive)`);
        process.exit(2);
      }
      if (baseline !== null) console.log(`baseline: the engine of ${baseline} runs in the same rounds ("base")`);
      // The rate the rounds run at: given, or the highest this engine holds on its core (a rate
      // it cannot hold measures its drops; one far below leaves it idle between requests, where
      // each wake-up costs more per request than at load, which wrk, closed-loop, never pays).
      let engineRate: number;
      if (rate !== null) engineRate = rate;
      else {
        report.calibration = await calibrate({ url: target.url, startRate, stepFactor: 1.15, seconds: 4, pinning, connections: engineConns });
        engineRate = (report.calibration as { rate: number }).rate;
      }
      const results: Array<{ round: number; wrk: WrkRun | null; autocannon: WrkRun | null; engine: EngineRun; base?: EngineRun }> = [];
      for (let round = 1; round <= rounds; round++) {
        // Rotate which tool goes first so drift within a round favours none.
        let wrk: WrkRun | null = null;
        let autocannon: WrkRun | null = null;
        let engine: EngineRun | null = null;
        let base: EngineRun | null = null;
        const tools = baseline === null ? 3 : 4;
        for (let i = 0; i < tools; i++) {
          const step = (i + round - 1) % tools;
          if (step === 0 && wrkAvailable) wrk = await runWrk(target.url, seconds, conns, pinning);
          else if (step === 1) engine = await runEngineChild({ url: target.url, rate: engineRate, seconds, mode: 'bench', connections: engineConns }, pinning);
          else if (step === 2 && autocannonAvailable) autocannon = await runAutocannon(target.url, seconds, conns, pinning);
          else if (step === 3) base = await runEngineChild({ url: target.url, rate: engineRate, seconds, mode: 'bench', connections: engineConns }, pinning, baseline!);
        }
        if (engine === null) throw new Error('the engine did not run');
        results.push({ round, wrk, autocannon, engine, ...(base ? { base } : {}) });
        const line = [`round ${round}:`];
        const closed = (name: string, w: WrkRun | null) => w && line.push(`${name} ${fmt(w.requests / w.cpuS)} req/cpu-s (${fmt(w.requests / w.wallS)} req/s, cpu ${w.cpuS.toFixed(2)} s)`);
        closed('wrk', wrk);
        closed('autocannon', autocannon);
        line.push(
          `engine ${fmt(engine.requests / engine.cpuS)} req/cpu-s (${fmt(engine.requests / engine.wallS)} req/s, cpu ${engine.cpuS.toFixed(2)} s = user ${engine.cpuUserS?.toFixed(2)} + sys ${engine.cpuSysS?.toFixed(2)}, ${steadyText(engine)}dropped ${engine.dropped}, errors ${engine.errors}, p99 ${engine.p99} ms, lag max ${engine.maxLagMs} ms${engine.saturated ? ', SATURATED' : ''}${sustained(engine) ? '' : ', NOT HELD'})`,
        );
        if (base) line.push(`base ${fmt(base.requests / base.cpuS)} req/cpu-s (cpu ${base.cpuS.toFixed(2)} s = user ${base.cpuUserS?.toFixed(2)} + sys ${base.cpuSysS?.toFixed(2)}, dropped ${base.dropped})`);
        console.log(line.join('  '));
      }
      const engineMedian = median(results.map((r) => r.engine.requests / r.engine.cpuS));
      const steadyPerCpu = (e: EngineRun) => (e.steady ? e.steady.requests / e.steady.cpuS : NaN);
      const steadyRatios = results.filter((r) => r.wrk && r.engine.steady).map((r) => steadyPerCpu(r.engine) / (r.wrk!.requests / r.wrk!.cpuS));
      const steadyRatio = steadyRatios.length ? median(steadyRatios) : null;
      const unheld = results.filter((r) => !sustained(r.engine)).length;
      const wrkRuns = results.map((r) => r.wrk).filter((w): w is WrkRun => w !== null);
      const wrkMedian = wrkRuns.length ? median(wrkRuns.map((w) => w.requests / w.cpuS)) : null;
      const ratios = results.filter((r) => r.wrk).map((r) => r.engine.requests / r.engine.cpuS / (r.wrk!.requests / r.wrk!.cpuS));
      const ratio = ratios.length ? median(ratios) : null;
      const acRuns = results.map((r) => r.autocannon).filter((w): w is WrkRun => w !== null);
      const acMedian = acRuns.length ? median(acRuns.map((w) => w.requests / w.cpuS)) : null;
      const acRatios = results.filter((r) => r.autocannon).map((r) => r.engine.requests / r.engine.cpuS / (r.autocannon!.requests / r.autocannon!.cpuS));
      const acRatio = acRatios.length ? median(acRatios) : null;
      const baseRatios = results.filter((r) => r.base).map((r) => r.engine.requests / r.engine.cpuS / (r.base!.requests / r.base!.cpuS));
      const baseWrk = results.filter((r) => r.base && r.wrk).map((r) => r.base!.requests / r.base!.cpuS / (r.wrk!.requests / r.wrk!.cpuS));
      if (baseRatios.length) {
        // CPU per request split: a change to the engine's JavaScript moves the user part; the
        // kernel's (the write and read of each request on loopback) is the same for both
        const perReq = (e: EngineRun, k: 'cpuUserS' | 'cpuSysS') => (e[k] ?? NaN) / e.requests;
        const split = (k: 'cpuUserS' | 'cpuSysS') => {
          const xs = results.filter((r) => r.base).map((r) => perReq(r.engine, k) / perReq(r.base!, k)).filter(Number.isFinite);
          return xs.length ? round3(median(xs)) : null;
        };
        const user = split('cpuUserS');
        const sys = split('cpuSysS');
        report.baseline = { dir: baseline, engineToBase: round3(median(baseRatios)), baseToWrk: baseWrk.length ? round3(median(baseWrk)) : null, userCpuPerRequestEngineToBase: user, sysCpuPerRequestEngineToBase: sys };
        console.log(
          `baseline: engine/base ${median(baseRatios).toFixed(2)}${baseWrk.length ? `, base/wrk ${median(baseWrk).toFixed(2)}` : ''}; CPU per request engine/base: user ${user ?? 'n/a'}, system ${sys ?? 'n/a'} (medians of per-round ratios)`,
        );
      }
      report.params = { seconds, rounds, rate: engineRate, rateChosen: rate === null ? 'calibrated' : 'given', wrkConnections: conns, autocannonConnections: conns, engineConnections: engineConns ?? 'auto' };
      report.rounds = results;
      report.median = {
        engineReqPerCpuS: Math.round(engineMedian),
        wrkReqPerCpuS: wrkMedian && Math.round(wrkMedian),
        autocannonReqPerCpuS: acMedian && Math.round(acMedian),
        engineToWrk: ratio && round3(ratio),
        engineSteadyToWrk: steadyRatio && round3(steadyRatio),
        roundsNotHeld: unheld,
        engineToAutocannon: acRatio && round3(acRatio),
      };
      console.log(
        `median: engine ${fmt(engineMedian)} req/cpu-s` +
          (wrkMedian ? `, wrk ${fmt(wrkMedian)} req/cpu-s, engine/wrk ${ratio!.toFixed(2)}` : '') +
          (acMedian ? `, autocannon ${fmt(acMedian)} req/cpu-s, engine/autocannon ${acRatio!.toFixed(2)}` : '') +
          ` (medians of per-round ratios; the engine at ${fmt(engineRate)} req/s)`,
      );
      const [load1, load5] = loadavg();
      report.loadAverage = { at1: load1, at5: load5 };
      console.log(`load average ${load1.toFixed(2)} ${load5.toFixed(2)} (1, 5 min): on a shared machine the engine's figure falls faster than wrk's; quote a quiet machine's`);
      if (steadyRatio !== null) console.log(`steady: engine/wrk ${steadyRatio.toFixed(2)} from the end of the engine's 1 s ramp to the end of its schedule (its start-up, JIT and connections left out; wrk has none)`);
      if (unheld > 0) console.log(`note: in ${unheld} of ${results.length} round(s) the engine did not hold ${fmt(engineRate)} req/s (dropped or saturated): its figure there is what it did, not the rate asked`);
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${out}`);
  } finally {
    cleanup();
  }
}

interface Target {
  kind: 'nginx' | 'node:http';
  url: string;
  stop(): void;
}

async function startTarget(dir: string, pinning: boolean, targetCpu: string = TARGET_CPU): Promise<Target> {
  const www = join(dir, 'www', 'static');
  mkdirSync(www, { recursive: true });
  for (const a of staticAssets) writeFileSync(join(www, a.path), Buffer.alloc(ASSET_BYTES, 97));
  chmodSync(join(dir, 'www'), 0o755);
  chmodSync(www, 0o755);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (haveBinary('nginx')) {
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 65;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /static/ { root ${dir}/www; }
    # the soak's writes: every PUT/POST/GET under /api/ answered at once (the engine is measured, not an app)
    location /api/ { default_type application/json; return 200 '{}'; }
  }
}
`,
    );
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
    const child = pinning ? spawn('taskset', ['-c', targetCpu, 'nginx', ...args], { stdio: 'ignore' }) : spawn('nginx', args, { stdio: 'ignore' });
    await waitForHttp(`${url}/static/favicon.ico`, 5000, child);
    return { kind: 'nginx', url, stop: () => stopChild(child) };
  }
  // Without nginx: a node:http server in a child process (so it can be pinned).
  const code = `const http=require('http');const body=Buffer.alloc(${ASSET_BYTES},97);http.createServer((q,s)=>{s.writeHead(200,{'content-type':'application/octet-stream','content-length':body.length});s.end(body)}).listen(${port},'127.0.0.1')`;
  const child = pinning ? spawn('taskset', ['-c', targetCpu, process.execPath, '-e', code], { stdio: 'ignore' }) : spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  await waitForHttp(`${url}/static/favicon.ico`, 5000, child);
  return { kind: 'node:http', url, stop: () => stopChild(child) };
}

async function runWrk(url: string, seconds: number, conns: number, pinning: boolean): Promise<WrkRun> {
  // bash's `times` prints the CPU its children used: wrk's user and system time, exactly.
  const pin = pinning ? `taskset -c ${GENERATOR_CPU} ` : '';
  const script = `${pin}wrk -t1 -c${conns} -d${seconds}s --latency ${url}/static/favicon.ico; times`;
  const { stdout } = await run('bash', ['-c', script], (seconds + 30) * 1000);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
  const errorsMatch = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const timesLines = stdout.trim().split('\n').slice(-2);
  const cpuS = parseTimes(timesLines[1] ?? '');
  if (!Number.isFinite(requests) || !(cpuS > 0)) throw new Error(`could not read wrk's output:\n${stdout}`);
  return {
    requests,
    errors: errorsMatch ? Number(errorsMatch[1]) : 0,
    cpuS,
    wallS: seconds, // wrk's own measuring window
    p50: wrkLatency(stdout, '50%'),
    p99: wrkLatency(stdout, '99%'),
  };
}

async function runAutocannon(url: string, seconds: number, conns: number, pinning: boolean): Promise<WrkRun> {
  // In a child like the engine, with its CPU measured the same way (process.cpuUsage around the
  // run, start-up excluded for both): one process, no workers, the same single core as wrk -t1.
  const node = [process.execPath, join(ROOT, 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), '--child-autocannon', JSON.stringify({ url, seconds, conns })];
  const [cmd, ...rest] = pinning ? ['taskset', '-c', GENERATOR_CPU, ...node] : node;
  const { stdout } = await run(cmd, rest, (seconds + 30) * 1000);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as WrkRun;
}

async function childAutocannon(args: { url: string; seconds: number; conns: number }): Promise<void> {
  // a devDependency without types: imported by a name TypeScript does not resolve
  const name = 'autocannon';
  const { default: autocannon } = (await import(name)) as { default: (o: object) => Promise<AutocannonResult> };
  const cpu0 = process.cpuUsage();
  const r = await autocannon({ url: `${args.url}/static/favicon.ico`, connections: args.conns, duration: args.seconds });
  const cpu = process.cpuUsage(cpu0);
  const res: WrkRun = { requests: r.requests.total, errors: r.non2xx + r.errors, cpuS: (cpu.user + cpu.system) / 1e6, wallS: r.duration, p50: r.latency.p50, p99: r.latency.p99 };
  process.stdout.write(JSON.stringify(res) + '\n');
}

/** The part of autocannon's result this script reads. */
interface AutocannonResult {
  requests: { total: number };
  non2xx: number;
  errors: number;
  duration: number;
  latency: { p50: number; p99: number };
}

// "0m1.234s 0m0.567s" -> 1.801
function parseTimes(line: string): number {
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return parts.length === 2 ? parts[0] + parts[1] : NaN;
}

function wrkLatency(out: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

interface ChildArgs {
  url: string;
  rate: number;
  seconds: number;
  mode: 'bench' | 'soak';
  /** soak: the workload, and with writes a write log */
  workload?: 'static' | 'write-heavy';
  /** the engine's connections (default: its own sizing) */
  connections?: number;
  /** generator threads (default 1) */
  threads?: number;
}

interface ThreadsModeArgs {
  url: string;
  threads: number;
  seconds: number;
  rounds: number;
  startRate: number;
  stepFactor: number;
  pinning: boolean;
  targetCpu: string;
}

/** A step held: not saturated, nothing dropped, and at least 99% of what was offered completed. */
function sustained(r: EngineRun): boolean {
  return !r.saturated && r.dropped === 0 && r.requests >= 0.99 * (r.offered ?? Infinity);
}

/**
 * 1 thread vs N: each searched upwards from startRate by stepFactor until a step is not
 * sustained; the steps of the two alternate (1, N, 1, N, ...) so the machine's drift hits both.
 */
async function runThreadsMode(a: ThreadsModeArgs): Promise<Record<string, unknown>> {
  const cpusFor = (n: number) => Array.from({ length: Math.min(n, availableParallelism()) }, (_, i) => i).join(',');
  console.log(`threads: 1 vs ${a.threads} generator threads (1 on cpu ${cpusFor(1)}, ${a.threads} on cpus ${cpusFor(a.threads)}; target on cpu ${a.targetCpu}), ${a.seconds} s steps from ${fmt(a.startRate)} req/s x${a.stepFactor}`);
  const rounds: Array<Record<string, unknown>> = [];
  for (let round = 1; round <= a.rounds; round++) {
    const best = new Map<number, { rate: number; run: EngineRun } | null>([[1, null], [a.threads, null]]);
    const next = new Map<number, number>([[1, a.startRate], [a.threads, a.startRate]]);
    const steps: Array<{ threads: number; rate: number; run: EngineRun; held: boolean }> = [];
    const open = new Set([1, a.threads]);
    while (open.size > 0) {
      for (const n of [1, a.threads]) {
        if (!open.has(n)) continue;
        const rate = next.get(n)!;
        const node = [process.execPath, join(ROOT, 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), '--child-engine', JSON.stringify({ url: a.url, rate, seconds: a.seconds, mode: 'bench', threads: n } satisfies ChildArgs)];
        const [cmd, ...rest] = a.pinning ? ['taskset', '-c', cpusFor(n), ...node] : node;
        const { stdout } = await run(cmd, rest, (a.seconds + 30) * 1000);
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as EngineRun;
        const held = sustained(r);
        steps.push({ threads: n, rate, run: r, held });
        console.log(
          `round ${round} ${n} thread${n === 1 ? ' ' : 's'} @ ${fmt(rate)} req/s: ${held ? 'held' : 'NOT held'} (${fmt(r.requests / a.seconds)} req/s done, dropped ${r.dropped}, lag max ${r.maxLagMs} ms${r.saturated ? ', SATURATED' : ''}, p99 ${r.p99} ms, cpu ${r.cpuS.toFixed(1)} s)`,
        );
        if (held) {
          best.set(n, { rate, run: r });
          next.set(n, Math.round(rate * a.stepFactor));
        } else open.delete(n);
      }
    }
    const one = best.get(1)?.rate ?? null;
    const many = best.get(a.threads)?.rate ?? null;
    const ratio = one && many ? round3(many / one) : null;
    console.log(`round ${round}: sustained 1 thread ${one === null ? 'none' : fmt(one)} req/s, ${a.threads} threads ${many === null ? 'none' : fmt(many)} req/s, ratio ${ratio ?? 'n/a'} (target >= 1.7)`);
    rounds.push({ round, sustained: { 1: one, [a.threads]: many }, ratio, steps });
  }
  const ratios = rounds.map((r) => r.ratio as number | null).filter((x): x is number => x !== null);
  const med = ratios.length ? round3(median(ratios)) : null;
  const [load1, load5] = loadavg();
  console.log(`threads: median ratio ${med ?? 'n/a'} over ${ratios.length} round(s); load average ${load1.toFixed(2)} ${load5.toFixed(2)} (1, 5 min): on a shared machine, rerun on a quiet one`);
  return { threads: a.threads, seconds: a.seconds, startRate: a.startRate, stepFactor: a.stepFactor, targetCpu: a.targetCpu, rounds, medianRatio: med, loadAverage: { at1: load1, at5: load5 } };
}

/**
 * The highest rate the engine holds (sustained(): nothing dropped, not saturated, 99% done) on its
 * core against this target: short steps upwards from startRate by stepFactor until one is not held.
 */
async function calibrate(a: { url: string; startRate: number; stepFactor: number; seconds: number; pinning: boolean; connections: number | undefined }): Promise<{ rate: number; steps: Array<{ rate: number; held: boolean; done: number; reqPerCpuS: number }> }> {
  const steps: Array<{ rate: number; held: boolean; done: number; reqPerCpuS: number }> = [];
  let best: number | null = null;
  // bounded: from 20k by 1.15, 16 steps reach 160k req/s
  for (let rate = a.startRate, i = 0; i < 16; rate = Math.round(rate * a.stepFactor), i++) {
    const r = await runEngineChild({ url: a.url, rate, seconds: a.seconds, mode: 'bench', connections: a.connections }, a.pinning);
    const held = sustained(r);
    steps.push({ rate, held, done: Math.round(r.requests / r.wallS), reqPerCpuS: Math.round(r.requests / r.cpuS) });
    // the cost per request falls as the rate rises (fewer idle wake-ups per request): printed, so
    // a figure at some other rate can be read against this curve
    console.log(`calibration: ${fmt(rate)} req/s ${held ? 'held' : 'NOT held'} (${fmt(r.requests / r.cpuS)} req/cpu-s, dropped ${r.dropped}, lag max ${r.maxLagMs} ms${r.saturated ? ', SATURATED' : ''})`);
    if (!held) break;
    best = rate;
  }
  if (best === null) console.log(`calibration: not even ${fmt(a.startRate)} req/s held: the rounds run there (give --start-rate or --rate)`);
  else console.log(`calibration: the rounds run the engine at ${fmt(best)} req/s, the highest step it held`);
  return { rate: best ?? a.startRate, steps };
}

function steadyText(e: EngineRun): string {
  return e.steady ? `steady ${fmt(e.steady.requests / e.steady.cpuS)} req/cpu-s, ` : '';
}

async function runEngineChild(args: ChildArgs, pinning: boolean, root = ROOT): Promise<EngineRun> {
  // root: the checkout whose engine runs (--baseline: another one, with its own copy of this script)
  const script = root === ROOT ? fileURLToPath(import.meta.url) : join(root, 'scripts', 'bench-engine.ts');
  const node = [process.execPath, join(root, 'bin', 'run-ts.js'), script, '--child-engine', JSON.stringify(args)];
  const [cmd, ...rest] = pinning ? ['taskset', '-c', GENERATOR_CPU, ...node] : node;
  const { stdout } = await run(cmd, rest, (args.seconds + 30) * 1000, args.mode === 'soak');
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as EngineRun;
}

async function runSoak(url: string, seconds: number, rate: number, workload: 'static' | 'write-heavy', pinning: boolean): Promise<EngineRun> {
  const what = workload === 'static' ? 'static requests' : 'write-heavy: every write recorded in a write log that spills past its bound';
  console.log(`soak: the engine alone at ${fmt(rate)} req/s for ${seconds} s (${what}); RSS sampled every second, printed every 30 s`);
  const r = (await runEngineChild({ url, rate, seconds, mode: 'soak', workload }, pinning)) as EngineRun & { rssTrend?: RssTrend };
  const trend = r.rssTrend ? `, RSS slope ${r.rssTrend.slopeMbPerMin ?? 'n/a'} MB/min from t=${r.rssTrend.fromS}s` : '';
  const log = r.writeLog ? `; write log: ${fmt(r.writeLog.acknowledged)} acknowledged, ${fmt(r.writeLog.indeterminate)} indeterminate, ${fmt(r.writeLog.spilled)} spilled to its file` : '';
  console.log(
    `soak done: ${fmt(r.requests)} requests, ${r.errors} errors, ${r.dropped} dropped, p99 ${r.p99} ms, peak RSS ${r.peakRssMb} MB${trend}, lag max ${r.maxLagMs} ms${r.saturated ? ', SATURATED' : ''}${log}`,
  );
  return r;
}

// ---- the engine child ----------------------------------------------------------------------

async function childEngine(args: ChildArgs): Promise<void> {
  const { runLoad } = await import('../harness/load/engine.ts');
  const stages: Stage[] =
    args.mode === 'soak'
      ? [{ durationS: 0, targetRate: Math.max(1, args.rate / 20) }, { durationS: Math.min(10, args.seconds / 10), targetRate: args.rate }, { durationS: args.seconds - Math.min(10, args.seconds / 10), targetRate: args.rate }]
      : // A 1 s ramp: jumping cold to 25k req/s costs the first second (JIT, connections) ~9k drops.
        [{ durationS: 0, targetRate: Math.max(1, args.rate / 20) }, { durationS: 1, targetRate: args.rate }, { durationS: args.seconds - 1, targetRate: args.rate }];
  // The soak samples RSS every second (a leak shows as a slope, fitted in rssTrend) and prints
  // one line every 30 s.
  const rssSamples: Array<{ t: number; rssMb: number; heapMb: number }> = [];
  let peakRss = 0;
  // The steady part: from the end of the 1 s ramp (module compilation, JIT, connections) to the
  // last second the schedule ran, CPU read at each second's close and the requests completed in
  // those seconds. wrk has no warm-up; this is the engine's cost per request once it has none.
  const steadyFromS = 2;
  let steadyCpu0: NodeJS.CpuUsage | null = null;
  let steadyCpu: NodeJS.CpuUsage | null = null;
  let steadyRequests = 0;
  let steadySeconds = 0;
  const onSecond = (p: { t: number; requests: number }) => {
    if (p.t + 1 === steadyFromS) steadyCpu0 = process.cpuUsage();
    else if (steadyCpu0 !== null && p.t + 1 <= args.seconds) {
      steadyCpu = process.cpuUsage(steadyCpu0);
      steadyRequests += p.requests;
      steadySeconds++;
    }
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    if (args.mode !== 'soak') return;
    const sample = { t: p.t + 1, rssMb: mb(m.rss), heapMb: mb(m.heapUsed) };
    rssSamples.push(sample);
    if (sample.t % 30 === 0) process.stderr.write(`soak t=${sample.t}s rss=${sample.rssMb} MB (peak ${mb(peakRss)} MB) heap=${sample.heapMb} MB\n`);
  };
  const withWrites = args.mode === 'soak' && args.workload === 'write-heavy';
  const { WriteLog } = await import('../chaos/write-log.ts');
  const writeLog = withWrites ? new WriteLog() : null;
  // after every import: loading modules is not the engine's cost per request
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const outcome = await runLoad(
    {
      targets: { api: args.url, static: args.url },
      workload: withWrites ? workloads['write-heavy']! : workloads.static,
      users: 1000,
      stages,
      seed: 1,
      onSecond,
      generatorThreads: args.threads ?? 1,
      ...(writeLog ? { runId: 'soak', writeLog } : {}),
    },
    { connections: args.connections },
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const r = outcome.results;
  const res: EngineRun & { rss?: typeof rssSamples; rssTrend?: RssTrend } = {
    requests: r.totals.requests,
    ok: r.totals.ok,
    errors: r.totals.errors,
    dropped: r.totals.dropped,
    cpuS: (cpu.user + cpu.system) / 1e6,
    cpuUserS: cpu.user / 1e6,
    cpuSysS: cpu.system / 1e6,
    wallS,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    saturated: r.generator.saturated,
    maxLagMs: r.generator.maxLagMs,
    peakRssMb: r.generator.peakRssMb,
    offered: r.totals.requests + r.totals.dropped,
  };
  if (steadyCpu !== null && steadyRequests > 0) {
    const c = steadyCpu as NodeJS.CpuUsage;
    res.steady = { fromS: steadyFromS - 1, seconds: steadySeconds, requests: steadyRequests, cpuS: (c.user + c.system) / 1e6, cpuUserS: c.user / 1e6, cpuSysS: c.system / 1e6 };
  }
  if (writeLog) {
    res.writeLog = { ...writeLog.counts, spilled: writeLog.spilled };
    writeLog.close();
  }
  if (args.mode === 'soak') {
    // the first minute (or tenth of a short soak) is warm-up: module loading, JIT, connections
    const trend = rssTrend(rssSamples, Math.min(60, Math.round(args.seconds / 10)));
    process.stderr.write(
      `soak t=${Math.round(wallS)}s (end) peak RSS ${r.generator.peakRssMb} MB; ${trend.samples} samples, slope from t=${trend.fromS}s ${trend.slopeMbPerMin ?? 'n/a'} MB/min (${trend.riseMb ?? 'n/a'} MB over the window)\n`,
    );
    res.rss = rssSamples;
    res.rssTrend = trend;
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

// ---- helpers -------------------------------------------------------------------------------

function run(cmd: string, args: string[], timeoutMs: number, relayStderr = false): Promise<{ stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (relayStderr) process.stdout.write(c);
    });
    const timer = setTimeout(() => {
      stopChild(child);
      reject(new Error(`${cmd} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise({ stdout });
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
  hard.unref();
  child.once('exit', () => clearTimeout(hard));
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the target exited with ${child.exitCode} before answering ${url}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
      last = new Error(`HTTP ${res.status}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  stopChild(child);
  throw new Error(`the target did not answer ${url} within ${timeoutMs} ms: ${String(last)}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function haveBinary(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}

function positiveInt(flag: string, v: string | undefined, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`${flag} must be a whole number from 1 to ${max}, got ${v}`);
    process.exit(2);
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
