// What one request costs one app server in CPU: issue #15 found phase 3's apps throttled like
// phase 2's at a third of the request rate. This measures it instead of reading it off throttled
// shares: against an app of a deployment left up by `bench up`, it reads the app process's CPU time
// (/proc/<pid>/stat utime + stime) and the app's own request counter (/metrics) over an idle window
// (what health checks, scrapes and lag polls cost with no traffic) and over a fixed-rate window of a
// workload sent straight to that app (no balancer in between, so a phase 2 app and a phase 3 app
// get the same requests at the same rate, and only what the app does per request differs).
//
//   node --import tsx scripts/app-cost.ts --run <run-id> [--app app-1] [--rate 130] [--seconds 20]
//        [--idle 10] [--workload mixed] [--users 10000] [--profile <dir>] [--out cost.json]
//
// --profile <dir>: afterwards, starts a second copy of the app (same command and config, the next
// port, put in the same host cgroup so it has the same CPU quota) under `node --cpu-prof`, drives
// the same load at it, stops it by pid with SIGTERM (the app then exits and node writes the
// profile) and prints the top self-time functions.
// --variant '<json>': afterwards, an A/B on the same host: a copy of the app as deployed, then a
// copy with the JSON merged into its config (e.g. '{"readYourWritesMs":0}'), each under the load.
// Exit 2 on bad flags, 3 when the run is not up.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import type { LoadOutcome } from '../harness/load/types.ts';
import { readState } from '../harness/runtime/state.ts';
import type { DeployPlan } from '../harness/topology/plan.ts';
import { workloadNamed } from '../loadtests/workloads.ts';

const TICK_US = 10_000; // USER_HZ is 100 on Linux: /proc/<pid>/stat counts CPU time in 10 ms ticks

function fail(code: 2 | 3, line: string): never {
  process.stderr.write(`app-cost: ${line}\n`);
  process.exit(code);
}

/** utime + stime of a process, in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** The app's own count of the requests it answered (/metrics and /healthz are not counted). */
async function served(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('http_requests_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** nr_periods / nr_throttled of the host cgroup a pid is in (v1 cpu or v2), null when unreadable. */
function throttling(cgroupDirs: string[]): { periods: number; throttled: number } | null {
  for (const d of cgroupDirs) {
    const f = join(d, 'cpu.stat');
    if (!existsSync(f)) continue;
    const kv = Object.fromEntries(readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(' ') as [string, string]));
    if (kv.nr_periods !== undefined) return { periods: Number(kv.nr_periods), throttled: Number(kv.nr_throttled) };
  }
  return null;
}

interface Window {
  seconds: number;
  cpuMs: number;
  requests: number;
  /** CPU per request, the window's background cost included */
  cpuUsPerRequest: number | null;
  /** share of the host's CFS periods throttled in the window, null when not measured */
  throttledShare: number | null;
}

async function measure(pid: number, base: string, cgroups: string[], seconds: number, load: (() => Promise<LoadOutcome>) | null): Promise<Window & { sent: LoadOutcome['results']['totals'] | null }> {
  const [c0, r0, t0, w0] = [cpuUs(pid), await served(base), throttling(cgroups), performance.now()];
  const outcome = load ? await load() : null;
  if (!load) await new Promise((r) => setTimeout(r, seconds * 1000));
  const [c1, r1, t1, w1] = [cpuUs(pid), await served(base), throttling(cgroups), performance.now()];
  const requests = r1 - r0;
  const periods = t0 && t1 ? t1.periods - t0.periods : 0;
  return {
    seconds: (w1 - w0) / 1000,
    cpuMs: (c1 - c0) / 1000,
    requests,
    cpuUsPerRequest: requests > 0 ? (c1 - c0) / requests : null,
    throttledShare: t0 && t1 && periods > 0 ? (t1.throttled - t0.throttled) / periods : null,
    sent: outcome ? outcome.results.totals : null,
  };
}

async function main(): Promise<void> {
  let v;
  try {
    ({ values: v } = parseArgs({
      options: {
        run: { type: 'string' },
        app: { type: 'string', default: 'app-1' },
        rate: { type: 'string', default: '130' },
        seconds: { type: 'string', default: '20' },
        idle: { type: 'string', default: '10' },
        workload: { type: 'string', default: 'mixed' },
        users: { type: 'string', default: '10000' },
        seed: { type: 'string', default: '1' },
        profile: { type: 'string' },
        variant: { type: 'string' },
        out: { type: 'string' },
      },
    }));
  } catch (e) {
    fail(2, (e as Error).message);
  }
  if (!v.run) fail(2, '--run <run-id> is required (a deployment left up by bench up; bench status lists them)');
  const [rate, seconds, idle, users, seed] = [v.rate, v.seconds, v.idle, v.users, v.seed].map(Number);
  if (![rate, seconds, idle, users, seed].every((n) => Number.isFinite(n) && n >= 0) || rate <= 0 || seconds <= 0) fail(2, '--rate, --seconds, --idle, --users and --seed take non-negative numbers (rate and seconds above 0)');
  // a fresh sign-up salt per run: a rerun's sign-ups would otherwise meet the last run's ids (409s)
  const salt = Date.now() % 1_000_000;
  const workload = workloadNamed(v.workload!) ?? fail(2, `no workload ${v.workload}`);

  let override: Record<string, unknown> | null = null;
  try {
    override = v.variant ? (JSON.parse(v.variant) as Record<string, unknown>) : null;
  } catch {
    fail(2, `--variant takes a JSON object merged into the app's config, e.g. '{"readYourWritesMs":0}'`);
  }
  const state = await readState(v.run);
  if (!state) fail(3, `no run ${v.run} under this BENCH_STATE_DIR (bench status lists the runs)`);
  const plan = JSON.parse(readFileSync(join(state.runDir, 'plan.json'), 'utf8')) as DeployPlan;
  const service = plan.services.find((s) => s.name === v.app) ?? fail(2, `run ${v.run} has no service ${v.app} (it has ${plan.services.map((s) => s.name).join(', ')})`);
  const record = state.services.find((s) => s.name === v.app) ?? fail(3, `run ${v.run} records no process for ${v.app}`);
  if (!existsSync(`/proc/${record.pid}`)) fail(3, `${v.app} (pid ${record.pid}) is not running`);
  const base = `http://${service.address.host}:${service.address.port}`;

  const drive = (target: string) => () =>
    runLoad({ targets: { api: target, static: target }, workload, users, seed, salt, stages: [{ durationS: 0, targetRate: rate }, { durationS: seconds, targetRate: rate }], maxInFlight: 200 });

  process.stderr.write(`app-cost: ${v.app} of run ${v.run} (phase ${plan.topology.phase}), pid ${record.pid}, ${base}\n`);
  const idleW = idle > 0 ? await measure(record.pid, base, record.cgroups, idle, null) : null;
  const loadW = await measure(record.pid, base, record.cgroups, seconds, drive(base));
  // the idle window's cost per second is paid during the load too: take it out to get the
  // requests' own cost
  const background = idleW ? (idleW.cpuMs / idleW.seconds) * loadW.seconds : 0;
  const perRequestNet = loadW.requests > 0 ? ((loadW.cpuMs - background) * 1000) / loadW.requests : null;
  const result = {
    run: v.run,
    phase: plan.topology.phase,
    app: v.app,
    workload: workload.name,
    rate,
    idle: idleW && { ...idleW, cpuMsPerSecond: idleW.cpuMs / idleW.seconds },
    load: loadW,
    /** CPU per request with the idle window's rate of background CPU taken out */
    cpuUsPerRequestNet: perRequestNet,
    profile: null as null | { file: string; top: Array<{ fn: string; selfMs: number; share: number }> },
    variant: null as null | Record<string, Window>,
  };
  const f = (n: number | null, d = 0) => (n === null ? 'n/a' : n.toFixed(d));
  if (idleW) process.stderr.write(`  idle ${f(idleW.seconds, 1)} s: ${f(result.idle!.cpuMsPerSecond, 1)} ms CPU/s, throttled ${f(idleW.throttledShare === null ? null : idleW.throttledShare * 100)}% of periods\n`);
  process.stderr.write(`  load ${f(loadW.seconds, 1)} s at ${rate}/s: ${loadW.requests} requests, ${f(loadW.cpuMs)} ms CPU, ${f(loadW.cpuUsPerRequest)} µs/request (${f(perRequestNet)} net of idle; the engine saw ${loadW.sent?.ok} ok, ${loadW.sent?.errors} errors, ${loadW.sent?.dropped} dropped), throttled ${f(loadW.throttledShare === null ? null : loadW.throttledShare * 100)}% of periods\n`);

  if (v.profile) result.profile = await profile(record.pid, record.cgroups, service.address, v.profile, drive);
  if (override) result.variant = await variant(record.pid, record.cgroups, service.address, override, seconds, drive);
  const out = v.out ?? null;
  if (out) writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * Starts a copy of the app next to the original: its command line and environment, the next
 * port, `override` merged into its config, in the same host cgroup (the same CPU quota, shared
 * with the original, idle meanwhile), under `node --cpu-prof` when `profileDir` is given.
 */
async function startCopy(pid: number, cgroups: string[], address: { host: string; port: number }, override: Record<string, unknown>, profileDir: string | null) {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const port = address.port + 1;
  const config = { ...JSON.parse(env.BENCH_APP_CONFIG), ...override, listen: { host: address.host, port } };
  config.name = `${config.name}-copy`;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(args[0], [...prof, ...args.slice(1)], { env: { ...env, BENCH_APP_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'inherit'], cwd: readlinkSync(`/proc/${pid}/cwd`) });
  for (const d of cgroups) for (const f of ['cgroup.procs', 'tasks']) if (existsSync(join(d, f))) writeFileSync(join(d, f), String(child.pid));
  const base = `http://${address.host}:${port}`;
  const stop = async () => {
    // SIGTERM: the app closes and exits, and node writes the profile on exit
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 300) {
      await stop();
      throw new Error(`the app's copy did not answer on ${base}/healthz`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, base, stop };
}

/** Runs a profiled copy of the app under the same load; returns its top functions. */
async function profile(pid: number, cgroups: string[], address: { host: string; port: number }, dir: string, drive: (target: string) => () => Promise<LoadOutcome>) {
  const copy = await startCopy(pid, cgroups, address, {}, dir);
  try {
    await drive(copy.base)();
  } finally {
    await copy.stop();
  }
  const file = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile')).map((n) => join(dir, n)).sort().pop();
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return { file, top: topSelf(JSON.parse(readFileSync(file, 'utf8'))) };
}

/** A/B on the same host: the copy as it is, then with `override` in its config, each under the same load. */
async function variant(pid: number, cgroups: string[], address: { host: string; port: number }, override: Record<string, unknown>, seconds: number, drive: (target: string) => () => Promise<LoadOutcome>) {
  const out: Record<string, Window> = {};
  for (const [label, o] of [['as deployed', {}], [JSON.stringify(override), override]] as const) {
    const copy = await startCopy(pid, cgroups, address, o, null);
    try {
      out[label] = await measure(copy.pid, copy.base, cgroups, seconds, drive(copy.base));
    } finally {
      await copy.stop();
    }
    const w = out[label];
    process.stderr.write(`  copy, ${label}: ${w.requests} requests, ${w.cpuMs.toFixed(0)} ms CPU, ${w.cpuUsPerRequest?.toFixed(0) ?? 'n/a'} µs/request\n`);
  }
  return out;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name, file, line), the 25 largest. */
export function topSelf(p: CpuProfile): Array<{ fn: string; selfMs: number; share: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
    const dt = p.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [fn, us] of top) process.stderr.write(`  ${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${fn}\n`);
  return top.map(([fn, us]) => ({ fn, selfMs: us / 1000, share: us / total }));
}

main().catch((e: unknown) => fail(3, e instanceof Error ? e.message : String(e)));
