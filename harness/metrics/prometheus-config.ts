// What Prometheus scrapes in a run, derived from the deploy plan: one job per tier, every target
// labelled with where it stands (service, host, region, role) and which run it belongs to. The same
// target list renders two ways: a whole prometheus.yml for the run's own Prometheus, and a
// file_sd JSON document a user's own Prometheus can watch (`--prometheus-url`).
import { join } from 'node:path';
import { sidePorts, type DeployPlan, type Endpoint, type PlannedService } from '../topology/plan.ts';
import { toYaml, type YamlValue } from './yaml.ts';

/** The labels bench puts on every target it asks Prometheus to scrape. */
export interface TargetLabels {
  /** the service the figures are about (for an exporter: the database or cache it watches) */
  service: string;
  /** the logical host's name, e.g. 'db-host' */
  host: string;
  region: string;
  /** the service's role in its phase: 'app', 'primary', 'replica', 'cache', 'lb', ... */
  role: string;
  /** the run id: one Prometheus may hold several runs */
  run: string;
}

export interface ScrapeTarget {
  /** host:port */
  address: string;
  labels: TargetLabels;
}

/** One scrape job: its name (the `job` label) and its targets. */
export interface ScrapeJob {
  job: ScrapeJobName;
  metricsPath: string;
  /** the scraped series' own labels win over the target's (honor_labels) */
  honorLabels?: boolean;
  targets: ScrapeTarget[];
}

/** The jobs a run can have; a job without targets in the plan is left out. */
export type ScrapeJobName = 'app' | 'haproxy' | 'postgres' | 'redis' | 'toxiproxy' | 'bench';

export interface PrometheusConfigOptions {
  /** default 1 s: runs are short, and per-second panels need per-second samples */
  scrapeIntervalS?: number;
  /** recording/alerting rule files to load (absolute paths) */
  ruleFiles?: string[];
}

/** The service name the load engine's own target carries (it is not a service of the plan). */
export const ENGINE_SERVICE = 'load-engine';

const addr = (e: Endpoint) => `${e.host}:${e.port}`;

/** Every scrape job of a run, in a stable order. Pure. */
export function scrapeJobs(plan: DeployPlan): ScrapeJob[] {
  const byName = new Map(plan.services.map((s) => [s.name, s]));
  const regionOf = new Map(plan.hosts.map((h) => [h.name, h.region]));
  const labelsOf = (s: PlannedService): TargetLabels => ({
    service: s.name,
    host: s.host,
    region: regionOf.get(s.host) ?? 'local',
    role: s.role,
    run: plan.runId,
  });
  const ofKind = (kind: PlannedService['kind']) => plan.services.filter((s) => s.kind === kind);
  /** an exporter is labelled with the service it watches, so `{service="pg-primary"}` finds both */
  const exporterTarget = (e: PlannedService): ScrapeTarget => {
    const target = e.config.kind === 'postgres-exporter' || e.config.kind === 'redis-exporter' ? byName.get(e.config.target) : undefined;
    return { address: addr(e.address), labels: labelsOf(target ?? e) };
  };
  const jobs: ScrapeJob[] = [
    // The app labels its DB metrics with the database's role (primary/replica): its own labels
    // must win over the target's role="app", or Prometheus renames them exported_role.
    { job: 'app', metricsPath: '/metrics', honorLabels: true, targets: ofKind('app').map((s) => ({ address: addr(s.address), labels: labelsOf(s) })) },
    {
      job: 'haproxy',
      metricsPath: '/metrics',
      targets: ofKind('haproxy').map((s) => ({ address: addr({ host: s.address.host, port: sidePorts.haproxyStats }), labels: labelsOf(s) })),
    },
    { job: 'postgres', metricsPath: '/metrics', targets: ofKind('postgres-exporter').map(exporterTarget) },
    { job: 'redis', metricsPath: '/metrics', targets: ofKind('redis-exporter').map(exporterTarget) },
    // Toxiproxy serves /metrics on its API port only when started with -proxy-metrics.
    { job: 'toxiproxy', metricsPath: '/metrics', targets: ofKind('toxiproxy').map((s) => ({ address: addr(s.address), labels: labelsOf(s) })) },
    {
      job: 'bench',
      metricsPath: '/metrics',
      targets: [
        {
          address: addr(plan.engineMetrics),
          labels: {
            service: ENGINE_SERVICE,
            host: plan.hosts[0]!.name,
            region: plan.hosts[0]!.region,
            role: 'load',
            run: plan.runId,
          },
        },
      ],
    },
  ];
  return jobs.filter((j) => j.targets.length > 0);
}

function scrapeConfigYaml(job: ScrapeJob): YamlValue {
  return {
    job_name: job.job,
    metrics_path: job.metricsPath,
    honor_labels: job.honorLabels ? true : undefined,
    static_configs: job.targets.map((t) => ({ targets: [t.address], labels: { ...t.labels } })),
  };
}

/** The run's prometheus.yml: global 1 s scrapes and one job per tier. */
export function prometheusConfig(plan: DeployPlan, options: PrometheusConfigOptions = {}): string {
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  const doc: YamlValue = {
    global: {
      scrape_interval: interval,
      // Prometheus refuses a timeout longer than the interval (its default is 10 s).
      scrape_timeout: interval,
      evaluation_interval: interval,
    },
    rule_files: options.ruleFiles && options.ruleFiles.length > 0 ? options.ruleFiles : undefined,
    scrape_configs: scrapeJobs(plan).map(scrapeConfigYaml),
  };
  return `# Generated by bench for run ${plan.runId} (phase ${plan.topology.phase}); rewritten on every run.\n` + toYaml(doc);
}

/** The same targets as Prometheus file_sd JSON: a user's Prometheus that watches this file scrapes
 *  the run without a reload (the `job` label is set per target group). */
export function fileSdTargets(plan: DeployPlan): string {
  const groups = scrapeJobs(plan).flatMap((j) => j.targets.map((t) => ({ targets: [t.address], labels: { job: j.job, ...t.labels } })));
  return JSON.stringify(groups, null, 2) + '\n';
}

/** Where a run writes its file_sd document when the user brings their own Prometheus: one fixed
 *  directory (file_sd globs only the last path element), one file per run, removed at teardown. */
export const fileSdPath = (stateRoot: string, runId: string) => join(stateRoot, 'prometheus-targets', `${runId}.json`);
