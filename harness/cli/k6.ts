// bench k6 export: a self-contained k6 script and env file for a phase's workload, runnable with
// plain `k6 run`; with --segments K, the K `k6 run` commands that split it over K generators; with
// --k6-operator, a TestRun manifest for the k6-operator on Kubernetes.
// bench k6 merge: the NDJSON outputs of K generators -> one results.json, report.html, summary.md.
import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { usageError } from '../errors.ts';
import { parseCount, parseDuration, parseInteger, parseRate } from './parse.ts';
import { parseBurst, phaseFor } from '../run/config.ts';
import { PHASE_HELP } from './run-options.ts';
import { exportK6 } from '../load/k6/export.ts';
import { MAX_SEGMENTS, segmentCommands, testRunManifest, yamlStream } from '../load/k6/distributed.ts';
import { findGeneratorOutputs, mergeK6Outputs } from '../load/k6/merge.ts';
import { mergedResults } from '../load/k6/merged-results.ts';
import { stagesFor, trafficModel, withBurst } from '../load/traffic-model.ts';
import { listRuns } from '../runtime/state.ts';
import { endpointUrl, type DeployPlan } from '../topology/plan.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { readConfig } from '../../loadtests/lib/config.ts';
import { writeReports } from '../../reports/index.ts';

interface ExportFlags {
  phase?: string;
  workload: string;
  users?: string;
  rate?: string;
  duration: string;
  burst?: string;
  seed: string;
  apiUrl?: string;
  staticUrl?: string;
  out: string;
  p99: string;
  maxErrorRate: string;
  segments?: string;
  k6Operator?: boolean;
  prometheusUrl?: string;
  name?: string;
  image?: string;
}

/** The entry URLs of the newest run of `phase` that is up, if any. */
async function upTargets(phase: number): Promise<{ api: string; static: string } | null> {
  for (const run of (await listRuns()).reverse()) {
    try {
      const plan = JSON.parse(await readFile(join(run.runDir, 'plan.json'), 'utf8')) as DeployPlan;
      if (plan.topology.phase !== phase) continue;
      const at = (name: string) => endpointUrl(plan.services.find((s) => s.name === name)!.address);
      return { api: at(plan.topology.entry), static: at(plan.topology.staticEntry ?? plan.topology.entry) };
    } catch {
      /* a run without a plan: skip */
    }
  }
  return null;
}

/** An http(s) URL with a host and nothing a .env line or a manifest cannot carry, or a usage error. */
export function parseHttpUrl(flag: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a URL`, `write it like ${flag} http://127.0.0.1:8080`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || /[\s'"\\$`]/.test(raw)) {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not an http(s) URL`, `write it like ${flag} http://127.0.0.1:8080`);
  }
  return raw.replace(/\/+$/, '');
}

/** A positive number of milliseconds, or a usage error. */
function parsePositive(flag: string, raw: string): number {
  const n = Number(raw.trim().replace(/ms$/, ''));
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw usageError(`${flag} ${JSON.stringify(raw)} is not a positive number`, `write it like ${flag} 500`);
  return n;
}

/** A fraction 0..1 (or a percentage), or a usage error. */
function parseFraction(flag: string, raw: string): number {
  const pct = raw.trim().endsWith('%');
  const n = Number(pct ? raw.trim().slice(0, -1) : raw.trim());
  const v = pct ? n / 100 : n;
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw usageError(`${flag} ${JSON.stringify(raw)} is not a fraction`, 'write it like 0.01 or 1%');
  return v;
}

/** True for an address only this machine reaches (a pod cannot). */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '0.0.0.0';
}

export function register(program: Command, io: CliIO): void {
  const k6 = program.command('k6').description('the k6 side of bench: scripts for plain k6, several generators, the k6-operator, and merging their outputs');
  k6.command('export')
    .description('write a self-contained k6 script and env file for a phase and workload (run them with plain k6)')
    .option('-p, --phase <n>', PHASE_HELP)
    .option('-w, --workload <name>', `one of ${Object.keys(workloads).join(', ')}`, 'mixed')
    .option('-u, --users <n>', 'seeded users the ids are drawn from')
    .option('-r, --rate <n>', 'steady arrival rate (default: the traffic model)')
    .option('-d, --duration <time>', 'duration of the ramp', '60s')
    .option('--burst <Fx@start+length>', 'multiply the arrival rate by F over a window of the load, e.g. 5x@20s+10s (extra stages)')
    .option('--seed <n>', 'seed of the id sequence', '1')
    .option('--api-url <url>', 'API base URL (default: the entry of a `bench up` of that phase)')
    .option('--static-url <url>', 'static assets base URL (default: the API URL, or the phase\'s CDN edge)')
    .option('--p99 <ms>', 'p99 threshold in ms', '500')
    .option('--max-error-rate <fraction>', 'http_req_failed threshold', '0.01')
    .option('--segments <k>', `split the load over k generators with k6 execution segments (1..${MAX_SEGMENTS}): writes their commands`)
    .option('--k6-operator', 'also write a k6-operator TestRun manifest (parallelism = --segments) with the script as a ConfigMap')
    .option('--prometheus-url <url>', 'Prometheus base URL k6 remote-writes its metrics to (needs its remote-write receiver)')
    .option('--name <name>', 'the TestRun\'s name (default bench-phase<N>-<workload>)')
    .option('--image <image>', 'the k6 runner image for --k6-operator (default grafana/k6)')
    .option('--out <dir>', 'where to write the files', '.')
    .action(async (flags: ExportFlags) => {
      // every number and URL checked before anything is written
      const phase = phaseFor(flags.phase);
      if (!workloads[flags.workload]) throw usageError(`--workload ${JSON.stringify(flags.workload)} is not a workload`, `choose one of ${Object.keys(workloads).join(', ')}`);
      const users = flags.users ? parseCount('--users', flags.users) : Math.max(1000, phase.usersRange[0]);
      const durationS = parseDuration('--duration', flags.duration, { min: 5 });
      const rate = flags.rate ? parseRate('--rate', flags.rate) : null;
      const burst = flags.burst === undefined ? null : parseBurst(flags.burst, durationS);
      const seed = parseInteger('--seed', flags.seed, { min: 0, max: 2 ** 31 - 1 });
      const p99Ms = parsePositive('--p99', flags.p99);
      const maxErrorRate = parseFraction('--max-error-rate', flags.maxErrorRate);
      const segments = flags.segments === undefined ? null : parseInteger('--segments', flags.segments, { min: 1, max: MAX_SEGMENTS });
      const prometheusUrl = flags.prometheusUrl === undefined ? null : parseHttpUrl('--prometheus-url', flags.prometheusUrl);
      const apiFlag = flags.apiUrl === undefined ? undefined : parseHttpUrl('--api-url', flags.apiUrl);
      const staticFlag = flags.staticUrl === undefined ? undefined : parseHttpUrl('--static-url', flags.staticUrl);
      const name = flags.name ?? `bench-phase${phase.phase}-${flags.workload}`;
      if (flags.k6Operator) {
        if (segments === null) throw usageError('--k6-operator needs --segments', 'give the number of runner pods, e.g. --segments 4');
        if (!/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(name)) throw usageError(`--name ${JSON.stringify(name)} is not a Kubernetes name`, 'lowercase letters, digits and -, at most 52 characters');
        if (apiFlag === undefined) throw usageError('--k6-operator needs --api-url', 'give the URL the pods reach the deployment at, e.g. --api-url http://bench-entry.bench.svc:8080');
        for (const [flag, url] of [['--api-url', apiFlag], ['--static-url', staticFlag], ['--prometheus-url', prometheusUrl]] as const) {
          if (url && isLoopback(url)) throw usageError(`${flag} ${url} is a loopback address, which no pod can reach`, 'give an address the cluster reaches');
        }
      } else if (flags.name !== undefined || flags.image !== undefined) {
        throw usageError(`${flags.name !== undefined ? '--name' : '--image'} only applies with --k6-operator`, 'add --k6-operator --segments K');
      }
      const up = apiFlag === undefined ? await upTargets(phase.phase) : null;
      const api = apiFlag ?? up?.api;
      if (!api) throw usageError(`no --api-url and no run of phase ${phase.phase} is up`, `start one with: bench up --phase ${phase.phase}, or pass --api-url http://127.x.y.z:port`);
      const model = trafficModel({ users, rateOverride: rate });
      const outDir = resolve(io.cwd, flags.out);
      const out = await exportK6({
        phase: phase.phase,
        workload: flags.workload,
        outDir,
        targets: { api, static: staticFlag ?? up?.static ?? api },
        users,
        seed,
        stages: burst ? withBurst(stagesFor(model.targetRps, durationS), burst) : stagesFor(model.targetRps, durationS),
        objectives: { p99Ms, maxErrorRate },
        prometheusRwUrl: prometheusUrl,
        // trends as native histograms: K generators' histograms add up exactly in Prometheus
        nativeHistograms: flags.k6Operator === true,
      });
      io.out(`wrote ${out.script}\nwrote ${out.env}\n`);
      if (segments === null) {
        io.out(`run it with:\n  ${out.command}\n`);
        return;
      }
      const script = basename(out.script);
      const envFile = basename(out.env);
      const commands = segmentCommands(script, envFile, segments, prometheusUrl !== null);
      const commandsFile = join(outDir, `${basename(out.script, '.js')}.segments.sh`);
      const merge = `bench k6 merge --env ${envFile} ${commands.map((c) => c.dir).join(' ')}`;
      await writeFile(
        commandsFile,
        [
          '#!/bin/sh',
          `# ${segments} k6 generators for one load: run line i on generator i (each with ${script} and ${envFile}`,
          '# beside its folder), all started together. One salt for the whole load:',
          '#   export BENCH_SALT=$(od -An -N3 -tu4 /dev/urandom | tr -d " ")   (the same value on every generator)',
          '# Then gather the folders in one place and merge them:',
          `#   ${merge}`,
          ...commands.map((c) => `# generator ${c.index} of ${segments}, segment ${c.segment}\n${c.command}`),
          '',
        ].join('\n'),
      );
      io.out(`wrote ${commandsFile}\none line per generator, all started together:\n${commands.map((c) => `  ${c.command}`).join('\n')}\nthen: ${merge}\n`);
      if (!flags.k6Operator) return;
      const envText = await readFile(out.env, 'utf8');
      const env = Object.fromEntries(envText.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const { configMap, testRun } = testRunManifest({ name, parallelism: segments, scriptFile: script, scriptText: await readFile(out.script, 'utf8'), env, prometheusUrl, image: flags.image });
      const manifestFile = join(outDir, `${name}.testrun.yaml`);
      await writeFile(manifestFile, yamlStream([configMap, testRun]));
      io.out(`wrote ${manifestFile}\napply it with:\n  kubectl apply -f ${basename(manifestFile)}\n`);
    });

  k6.command('merge')
    .description('merge the k6 JSON outputs of several generators into one results.json, report.html and summary.md')
    .argument('<dir...>', 'one folder per generator, each holding points.ndjson(.gz) (and summary.json)')
    .option('--env <file>', "the export's .env file (stages, users, seed, objectives); default: the one bench-phase*.env beside the folders")
    .option('--phase <n>', 'phase of the ladder (default: from the .env file name)')
    .option('--out <dir>', 'where to write the reports', 'merged')
    .action(async (dirs: string[], flags: { env?: string; phase?: string; out: string }) => {
      const folders = dirs.map((d) => resolve(io.cwd, d));
      const outputs = findGeneratorOutputs(folders);
      const envPath = flags.env !== undefined ? resolve(io.cwd, flags.env) : findEnvFile(folders);
      if (!existsSync(envPath)) throw usageError(`--env ${envPath} does not exist`, 'give the .env file bench k6 export wrote');
      const env = Object.fromEntries(
        (await readFile(envPath, 'utf8'))
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const workload = env.BENCH_WORKLOAD ?? 'mixed';
      let config;
      try {
        config = readConfig(env, workload);
      } catch (err) {
        throw usageError(`${envPath}: ${(err as Error).message}`, 'give the .env file bench k6 export wrote');
      }
      const phaseRaw = flags.phase ?? /bench-phase(\d+)-/.exec(basename(envPath))?.[1];
      const phase = phaseFor(phaseRaw);
      const merged = await mergeK6Outputs(outputs, { workload, stages: config.stages });
      const results = mergedResults(merged, { phase: phase.phase, title: phase.title, users: config.users, seed: config.seed, objectives: { p99Ms: config.p99Ms, maxErrorRate: config.maxErrorRate } });
      const outDir = resolve(io.cwd, flags.out);
      const files = await writeReports(outDir, results);
      const t = results.load.totals;
      io.out(
        [
          `merged ${outputs.length} generators: ${t.requests} requests, ${t.errors} errors, ${t.dropped} dropped; p50 ${results.load.latencyMs.p50} ms, p99 ${results.load.latencyMs.p99} ms (${merged.percentiles === 'k6-exact' ? 'k6 percentiles of all samples together' : 'one HDR histogram of all samples'})`,
          ...merged.thresholds.map((th) => `  threshold ${th.metric} ${th.expression}: ${th.ok === null ? 'not re-evaluated' : th.ok ? 'ok' : 'CROSSED'}${th.actual === null ? '' : ` (${Math.round(th.actual * 1000) / 1000})`}`),
          `wrote ${Object.values(files).join(', ')}`,
          '',
        ].join('\n'),
      );
    });
}

/** The one bench-phase*.env in the folders' parent (or in a folder): where a segmented export put it. */
function findEnvFile(folders: readonly string[]): string {
  const places = [...new Set([...folders.map((f) => dirname(f)), ...folders, ...folders.map((f) => join(dirname(f), 'export')), ...folders.map((f) => join(dirname(dirname(f)), 'export'))])];
  const found = new Set<string>();
  for (const p of places) {
    if (!existsSync(p)) continue;
    for (const n of readdirSync(p)) if (/^bench-phase\d+-.+\.env$/.test(n)) found.add(join(p, n));
  }
  if (found.size !== 1) {
    throw usageError(found.size === 0 ? 'no bench-phase*.env file beside the folders' : `several .env files beside the folders (${[...found].map((f) => basename(f)).join(', ')})`, 'pass the export\'s file with --env');
  }
  return [...found][0];
}
