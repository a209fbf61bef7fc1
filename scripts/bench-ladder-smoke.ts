// Does scaling out show? Deploys phase 2 (one app host) and phase 3 (a balancer and N app hosts
// of the same size) side by side on the native runtime, and finds for each the highest arrival
// rate whose p99 stays under the objective with under 1% errors. The two searches take turns, one
// step each, so the machine's drifting speed hits both alike; only their ratio is meant to be
// compared between machines.
//
//   npm run bench:ladder-smoke -- [--p99-ms 250] [--step-s 5] [--users 10000] [--app-servers 3]
//                                 [--replicas 2] [--workload read-heavy] [--app-cpus 0.1] [--no-proxies] [--out FILE]
//                                 [--allow-unenforced-sizes]
//
// The comparison is one of capacities, so it refuses (exit 3) when a host's CPU/memory quota could
// not be enforced (cgroup writes failed): nominal sizes would compare whatever the machine gave.
//
// Every load step is bounded (a 1 s ramp plus --step-s at the rate); everything started is torn
// down on exit, error or Ctrl-C.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import { createNativeRuntime } from '../harness/runtime/native.ts';
import { allocateSlot, releaseSlot } from '../harness/runtime/state.ts';
import type { Deployment } from '../harness/runtime/types.ts';
import { endpointUrl, plan, serviceOf, type Endpoint } from '../harness/topology/plan.ts';
import type { PhaseOptions } from '../harness/topology/types.ts';
import { workloads } from '../loadtests/workloads.ts';
import { seedPostgres } from '../targets/app/seed.ts';
import { phases } from '../targets/phases/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SEED = 42;
/** load steps per phase at most, repeated failures included */
const MAX_STEPS = 16;
/** the search stops when the highest passing rate and the lowest failing one are this close */
const RESOLUTION = 1.1;

const { values } = parseArgs({
  options: {
    // above one CFS period (100 ms): a host that uses up its quota stalls for the rest of the
    // period, so a p99 under 100 ms fails on quota stalls alone, long before requests queue up
    'p99-ms': { type: 'string', default: '250' },
    'step-s': { type: 'string', default: '5' },
    'start-rate': { type: 'string', default: '100' },
    'max-rate': { type: 'string', default: '5000' },
    users: { type: 'string', default: '10000' },
    'app-servers': { type: 'string', default: '3' },
    replicas: { type: 'string', default: '2' },
    workload: { type: 'string', default: 'read-heavy' },
    /** override the size of every app host (both phases alike), to explore where scaling out shows */
    'app-cpus': { type: 'string' },
    'no-proxies': { type: 'boolean', default: false },
    'allow-unenforced-sizes': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, '.runs', 'ladder-smoke.json') },
  },
});
const num = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} ${String(values[name])}: expected a positive number`);
    process.exit(2);
  }
  return n;
};
const objectiveMs = num('p99-ms');
const stepS = num('step-s');
const users = Math.round(num('users'));
const workload = workloads[values.workload!];
if (!workload) {
  console.error(`--workload ${values.workload}: unknown; use one of ${Object.keys(workloads).join(', ')}`);
  process.exit(2);
}

interface Step {
  rate: number;
  throughputRps: number;
  /** null: no request got a response */
  p99Ms: number | null;
  /** failed share of the offered load: errors and drops over requests due */
  errorRate: number;
  dropped: number;
  saturated: boolean;
  statusCodes: Record<string, number>;
  errorKinds: Record<string, number>;
  pass: boolean;
}

interface Subject {
  phase: number;
  options: PhaseOptions;
  dep?: Deployment;
  /** the primary the users are seeded into */
  primary?: Endpoint;
  slot?: number;
  entry: string;
  steps: Step[];
  /** the CPU share of each app host */
  appCpus?: number;
  /** highest passing rate so far, lowest failing one */
  lo: number;
  hi: number;
  done: boolean;
}

const subject = (phase: number, options: PhaseOptions): Subject => ({ phase, options, entry: '', steps: [], lo: 0, hi: Number.POSITIVE_INFINITY, done: false });
const subjects: Subject[] = [
  subject(2, { users, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' }),
  subject(3, { users, appServers: Math.round(num('app-servers')), replicas: Math.round(Number(values.replicas)), shards: 1, shardStrategy: 'range' }),
];

const abort = new AbortController();
/** set when the run stops because host sizes were not enforced: exit 3 (environment) */
let sizesRefused = false;
process.once('SIGINT', () => abort.abort(new Error('interrupted')));
process.once('SIGTERM', () => abort.abort(new Error('terminated')));

/** The next rate to try, or null when the search is over. */
function nextRate(s: Subject): number | null {
  if (s.steps.length >= MAX_STEPS) return null;
  const max = num('max-rate');
  if (s.hi === Number.POSITIVE_INFINITY) {
    const r = s.lo === 0 ? num('start-rate') : Math.round(s.lo * 1.5);
    return s.lo >= max ? null : Math.min(r, max);
  }
  if (s.lo > 0 && s.hi / s.lo <= RESOLUTION) return null;
  if (s.lo === 0 && s.hi <= 10) return null;
  return Math.round((s.lo + s.hi) / 2);
}

/** Seeds users 1..users into the subject's primary, replacing what is there. */
async function seed(s: Subject) {
  return seedPostgres([{ name: 'main', range: [0, null], primary: s.primary! }], 'range', users, SEED);
}

async function step(s: Subject, rate: number): Promise<Step> {
  // every load run signs users up as users+1, users+2, ...: without a fresh table the second
  // step's sign-ups would all answer 409
  if (workload!.mix.create > 0) await seed(s);
  const outcome = await runLoad({
    targets: { api: s.entry, static: s.entry },
    workload: workload!,
    users,
    stages: [{ durationS: 1, targetRate: rate }, { durationS: stepS, targetRate: rate }],
    seed: SEED,
    timeoutMs: 2_000,
    signal: abort.signal,
  });
  const r = outcome.results;
  const st: Step = {
    rate,
    throughputRps: Math.round(r.totals.throughputRps),
    p99Ms: r.latencyMs.p99,
    errorRate: r.totals.failRate ?? 1,
    dropped: r.totals.dropped,
    saturated: r.generator.saturated,
    statusCodes: r.statusCodes,
    errorKinds: r.errorKinds,
    pass: false,
  };
  if (Object.keys(st.statusCodes).length === 0) {
    // not one HTTP answer: the deployment is gone (a `bench down` from elsewhere?), not overloaded
    throw new Error(`phase ${s.phase} stopped answering at ${s.entry} (${JSON.stringify(st.errorKinds)})`);
  }
  st.pass = st.p99Ms !== null && st.p99Ms <= objectiveMs && st.errorRate < 0.01 && st.dropped === 0 && !st.saturated;
  return st;
}

async function main(): Promise<void> {
  const runtime = createNativeRuntime();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const t0 = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  try {
    for (const s of subjects) {
      const runId = `ladder-smoke-p${s.phase}-${process.pid}`;
      s.slot = await allocateSlot({ runId });
      const topology = phases.get(s.phase)!.topology(s.options);
      if (values['app-cpus'] !== undefined) {
        const cpus = num('app-cpus');
        topology.hosts = topology.hosts.map((h) => (/^app-host(-\d+)?$/.test(h.name) ? { ...h, size: { ...h.size, cpus } } : h));
      }
      s.appCpus = topology.hosts.find((h) => h.name.startsWith('app-host'))!.size.cpus;
      const p = plan(topology, { runId, slot: s.slot, proxies: !values['no-proxies'], prometheus: false });
      await runtime.check(p);
      log(`phase ${s.phase}: deploying ${p.topology.hosts.length} hosts`);
      s.dep = await runtime.up(p, { runDir: join(ROOT, '.runs', `ladder-smoke-${stamp}`, `phase-${s.phase}`), progress: (l) => {
        if (/not enforced/.test(l)) log(`phase ${s.phase}: ${l}`);
      }, signal: abort.signal });
      const unenforced = Object.entries(s.dep.sizesEnforced?.() ?? {}).filter(([, ok]) => !ok).map(([h]) => h);
      if (unenforced.length > 0) {
        log(`phase ${s.phase}: host sizes not enforced on ${unenforced.join(', ')}`);
        if (!values['allow-unenforced-sizes']) {
          sizesRefused = true;
          throw new Error(`host sizes not enforced on ${unenforced.join(', ')} (phase ${s.phase}): a capacity comparison needs them; pass --allow-unenforced-sizes to run it anyway`);
        }
      }
      s.entry = endpointUrl(serviceOf(p, p.topology.entry).address);
      s.primary = serviceOf(p, 'pg-primary').address;
      const seeded = await seed(s);
      log(`phase ${s.phase}: up at ${s.entry}, ${seeded.rows} users seeded in ${seeded.seconds.toFixed(1)} s`);
    }
    for (const s of subjects) {
      // warm-up, not part of the search: until V8 has optimised the app's hot paths a request
      // costs it several times more CPU, which on a fraction of a core is the whole difference
      await runLoad({
        targets: { api: s.entry, static: s.entry },
        workload: workload!,
        users,
        stages: [{ durationS: 5, targetRate: num('start-rate') }, { durationS: 10, targetRate: num('start-rate') }],
        seed: SEED + 1,
        timeoutMs: 2_000,
        signal: abort.signal,
      });
      log(`phase ${s.phase}: warmed up`);
    }
    log(`objective: p99 <= ${objectiveMs} ms, errors < 1%, nothing dropped; workload ${workload!.name}; ${stepS} s per step`);
    while (subjects.some((s) => !s.done)) {
      for (const s of subjects) {
        abort.signal.throwIfAborted();
        if (s.done) continue;
        const rate = nextRate(s);
        if (rate === null) {
          s.done = true;
          continue;
        }
        let st = await step(s, rate);
        // a failure counts only when it repeats: one GC pause or a neighbour's burst on this
        // drifting machine must not end a search
        if (!st.pass) {
          s.steps.push(st);
          log(`phase ${s.phase} @ ${String(rate).padStart(5)} req/s: p99 ${st.p99Ms === null ? 'n/a' : `${st.p99Ms.toFixed(1)} ms`}, errors ${(st.errorRate * 100).toFixed(2)}% -> failed once, again`);
          st = await step(s, rate);
        }
        s.steps.push(st);
        if (st.pass) s.lo = Math.max(s.lo, rate);
        else s.hi = Math.min(s.hi, rate);
        log(`phase ${s.phase} @ ${String(rate).padStart(5)} req/s: ${String(st.throughputRps).padStart(5)} done/s, p99 ${(st.p99Ms === null ? 'n/a' : `${st.p99Ms.toFixed(1)}`).padStart(7)} ms, errors ${(st.errorRate * 100).toFixed(2)}%${st.dropped ? `, dropped ${st.dropped}` : ''}${st.saturated ? ', generator saturated' : ''} -> ${st.pass ? 'pass' : 'FAIL'}`);
      }
    }
  } finally {
    for (const s of [...subjects].reverse()) {
      await s.dep?.down().catch((e) => console.error(`phase ${s.phase}: teardown: ${(e as Error).message}`));
      if (s.slot !== undefined) await releaseSlot(s.slot).catch(() => {});
    }
  }
  const [p2, p3] = subjects as [Subject, Subject];
  const ratio = p2.lo > 0 ? p3.lo / p2.lo : null;
  const summary = {
    objective: { p99Ms: objectiveMs, maxErrorRate: 0.01 },
    workload: workload!.name,
    users,
    stepS,
    proxies: !values['no-proxies'],
    phases: subjects.map((s) => ({ phase: s.phase, options: s.options, appCpus: s.appCpus, maxRate: s.lo, steps: s.steps })),
    ratio,
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(summary, null, 2));
  console.log(`\nphase 2 (1 app server of ${p2.appCpus} cpu):  ${p2.lo} req/s`);
  console.log(`phase 3 (${p3.options.appServers} app servers of ${p3.appCpus} cpu): ${p3.lo} req/s`);
  console.log(`ratio: ${ratio === null ? 'n/a (phase 2 met the objective at no rate)' : `${ratio.toFixed(2)}x`}  (p99 <= ${objectiveMs} ms, errors < 1%)`);
  console.log(`details: ${values.out}`);
}

main().catch((e) => {
  console.error(`ladder smoke ${abort.signal.aborted ? 'interrupted' : `failed: ${(e as Error).message}`}`);
  process.exitCode = abort.signal.aborted ? 130 : sizesRefused ? 3 : 1;
});
