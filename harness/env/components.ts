// Everything bench can use on a machine: what it is for, how to find it, how to get it.
// `bench doctor` reports these; `bench setup` installs the missing ones it can.

/** How a missing component is obtained. */
export type Install =
  | { kind: 'apt'; packages: string[] }
  | { kind: 'go'; module: string; binary: string; buildName: string }
  | { kind: 'manual'; hint: string };

/** The oldest version a component may have, and why (doctor and setup check it). */
export interface MinVersion {
  version: string;
  why: string;
  /** how to get a newer one */
  hint: string;
}

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
  minVersion?: MinVersion;
}

export const TOXIPROXY_VERSION = 'v2.12.0';
/** The Go that can build TOXIPROXY_VERSION (its go.mod says `go 1.23`; Debian 12's golang-go is 1.19). */
export const GO_MIN_VERSION = '1.23';
/** The k6 major versions the k6 driver reads (its summary and JSON output were checked on v1.8.1 and v2.2.0). */
export const K6_MAJORS: readonly number[] = [1, 2];
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Where a user gets k6 (bench does not install it). */
export const K6_INSTALL_HINT =
  "install it from Grafana's Debian/RPM packages (https://grafana.com/docs/k6/latest/set-up/install-k6/), Homebrew (`brew install k6`), the grafana/k6 image or your own build (k6 v1.x or v2.x), then put it on PATH or pass --k6-bin";

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
  {
    name: 'Go',
    binary: 'go',
    paths: ['/usr/local/go/bin'],
    versionArgs: ['version'],
    neededFor: 'building Toxiproxy (bench setup)',
    required: false,
    install: { kind: 'apt', packages: ['golang-go'] },
    minVersion: {
      version: GO_MIN_VERSION,
      why: `Toxiproxy ${TOXIPROXY_VERSION} needs Go >= ${GO_MIN_VERSION}`,
      hint: 'get a newer Go: the tarball from https://go.dev/dl/ unpacked into /usr/local/go (bench looks in /usr/local/go/bin), or your distribution\'s newer golang-1.2x package (Debian 12: bookworm-backports)',
    },
  },
  { name: 'wrk', binary: 'wrk', versionArgs: ['--version'], neededFor: 'npm run bench:engine (the peer generator)', required: false, install: { kind: 'apt', packages: ['wrk'] } },
  { name: 'Chromium', binary: 'chromium', versionArgs: ['--version'], neededFor: 'report screenshot tests', required: false, install: { kind: 'apt', packages: ['chromium'] } },
  { name: 'Docker engine', binary: 'dockerd', versionArgs: ['--version'], neededFor: '--runtime docker', required: false, install: { kind: 'apt', packages: ['docker.io'] } },
  // bench never fetches or builds k6 (its module is AGPL, and the Go proxy these machines use marks
  // it not-to-use): the k6 driver runs the k6 the user installed, found on PATH or given with --k6-bin.
  { name: 'k6', binary: 'k6', versionArgs: ['version'], neededFor: '--driver k6 and the live k6 test', required: false, install: { kind: 'manual', hint: K6_INSTALL_HINT } },
];

/** The Debian packages `bench setup` installs (the required components plus the test tools). */
export function aptPackages(which: 'required' | 'all'): string[] {
  const set = new Set<string>();
  for (const c of components) {
    if (c.install.kind === 'apt' && (which === 'all' || c.required)) c.install.packages.forEach((p) => set.add(p));
  }
  return [...set];
}
