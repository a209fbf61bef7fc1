// Everything bench can use on a machine: what it is for, how to find it, how to get it.
// `bench doctor` reports these; `bench setup` installs the missing ones it can.

/** How a missing component is obtained. */
export type Install =
  | { kind: 'apt'; packages: string[] }
  | { kind: 'go'; module: string; binary: string; buildName: string }
  | { kind: 'manual'; hint: string };

export interface Component {
  name: string;
  /** executable looked up by doctor */
  binary: string;
  /** places besides PATH (PostgreSQL keeps its server binaries in a versioned dir) */
  paths?: string[];
  versionArgs: string[];
  /** what needs it */
  neededFor: string;
  /** required by the native runtime's default runs (missing -> doctor fails) */
  required: boolean;
  install: Install;
}

export const TOXIPROXY_VERSION = 'v2.12.0';
export const K6_VERSION = 'v1.8.1';
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export const components: readonly Component[] = [
  { name: 'PostgreSQL 15', binary: 'postgres', paths: [PG_BIN], versionArgs: ['--version'], neededFor: 'phases 2-7 (databases)', required: true, install: { kind: 'apt', packages: ['postgresql-15'] } },
  { name: 'pg_basebackup', binary: 'pg_basebackup', paths: [PG_BIN], versionArgs: ['--version'], neededFor: 'read replicas (phase 3+)', required: true, install: { kind: 'apt', packages: ['postgresql-15'] } },
  { name: 'Redis', binary: 'redis-server', versionArgs: ['--version'], neededFor: 'sessions and cache (phase 3+)', required: true, install: { kind: 'apt', packages: ['redis-server'] } },
  { name: 'HAProxy', binary: 'haproxy', versionArgs: ['-v'], neededFor: 'load balancer (phase 3+)', required: true, install: { kind: 'apt', packages: ['haproxy'] } },
  { name: 'nginx', binary: 'nginx', paths: ['/usr/sbin'], versionArgs: ['-v'], neededFor: 'CDN edge (phase 4+)', required: true, install: { kind: 'apt', packages: ['nginx-light'] } },
  { name: 'Prometheus', binary: 'prometheus', versionArgs: ['--version'], neededFor: 'metrics of every run', required: true, install: { kind: 'apt', packages: ['prometheus'] } },
  { name: 'postgres exporter', binary: 'prometheus-postgres-exporter', versionArgs: ['--version'], neededFor: 'database metrics', required: true, install: { kind: 'apt', packages: ['prometheus-postgres-exporter'] } },
  { name: 'redis exporter', binary: 'prometheus-redis-exporter', versionArgs: ['--version'], neededFor: 'cache metrics', required: true, install: { kind: 'apt', packages: ['prometheus-redis-exporter'] } },
  {
    name: 'Toxiproxy',
    binary: 'toxiproxy-server',
    versionArgs: ['-version'],
    neededFor: 'every network edge; chaos drills',
    required: true,
    install: { kind: 'go', module: `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`, binary: 'server', buildName: 'toxiproxy-server' },
  },
  { name: 'Go', binary: 'go', versionArgs: ['version'], neededFor: 'building Toxiproxy (bench setup)', required: false, install: { kind: 'apt', packages: ['golang-go'] } },
  { name: 'wrk', binary: 'wrk', versionArgs: ['--version'], neededFor: 'npm run bench:engine (the peer generator)', required: false, install: { kind: 'apt', packages: ['wrk'] } },
  { name: 'Chromium', binary: 'chromium', versionArgs: ['--version'], neededFor: 'report screenshot tests', required: false, install: { kind: 'apt', packages: ['chromium'] } },
  { name: 'Docker engine', binary: 'dockerd', versionArgs: ['--version'], neededFor: '--runtime docker', required: false, install: { kind: 'apt', packages: ['docker.io'] } },
  // k6 is not in Debian, but it is a Go module: `bench setup --all` builds it (~3 min, ~850 MB RSS).
  { name: 'k6', binary: 'k6', versionArgs: ['version'], neededFor: '--driver k6', required: false, install: { kind: 'go', module: `go.k6.io/k6@${K6_VERSION}`, binary: 'k6', buildName: 'k6' } },
];

/** The Debian packages `bench setup` installs (the required components plus the test tools). */
export function aptPackages(which: 'required' | 'all'): string[] {
  const set = new Set<string>();
  for (const c of components) {
    if (c.install.kind === 'apt' && (which === 'all' || c.required)) c.install.packages.forEach((p) => set.add(p));
  }
  return [...set];
}
