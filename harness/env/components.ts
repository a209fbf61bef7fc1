// Everything bench can use on a machine: what it is for, how to find it, how to get it.
// `bench doctor` reports these; `bench setup` installs the missing ones it can. The servers come
// from the component kinds' own requirements (targets/services/<kind>.ts); this file lists only
// the tools that are no component kind: Go, wrk, Chromium, the Docker engine and k6.
import { kinds as registeredKinds, type KindRegistry } from '../../targets/services/index.ts';
import { phases } from '../../targets/phases/index.ts';
import { plan } from '../topology/plan.ts';
import type { ServiceKind } from '../topology/types.ts';
import { TOXIPROXY_VERSION } from '../../targets/services/toxiproxy.ts';
import type { Install } from '../../targets/services/types.ts';

export type { Install };
export { TOXIPROXY_VERSION };

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
  /** null: never run for its version (doctor says it was not asked) */
  versionArgs: string[] | null;
  /** what needs it */
  neededFor: string;
  /** required by the native runtime's default runs (missing -> doctor fails) */
  required: boolean;
  install: Install;
  minVersion?: MinVersion;
}

/** The Go that can build TOXIPROXY_VERSION (its go.mod says `go 1.23`; Debian 12's golang-go is 1.19). */
export const GO_MIN_VERSION = '1.23';
/** The k6 major versions the k6 driver reads (its summary and JSON output were checked on v1.8.1 and v2.2.0). */
export const K6_MAJORS: readonly number[] = [1, 2];

/** Where a user gets k6 (bench does not install it). */
export const K6_INSTALL_HINT =
  "install it from Grafana's Debian/RPM packages (https://grafana.com/docs/k6/latest/set-up/install-k6/), Homebrew (`brew install k6`), the grafana/k6 image or your own build (k6 v1.x or v2.x), then put it on PATH or pass --k6-bin";

/** The tools bench uses that are no component kind (never required by the native runtime). */
const tools: readonly Component[] = [
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

/**
 * The kinds a built phase deploys with its default options, instruments included (Toxiproxy,
 * Prometheus, the exporters the plan adds): what a default run may need. A kind only an unbuilt
 * phase uses (etcd, Patroni, PowerDNS until phase 7 is wired) is optional: doctor lists it,
 * `bench setup --all` installs it, and nothing fails without it. Derived from the phases. Pure.
 */
export function kindsOfBuiltPhases(): Set<ServiceKind> {
  const out = new Set<ServiceKind>();
  for (const def of phases.values()) {
    if (!def.built) continue;
    const topology = def.topology({ users: 1000, ...def.defaults } as Parameters<typeof def.topology>[0]);
    for (const s of plan(topology, { runId: 'doctor', slot: 1, proxies: true, prometheus: true }).services) out.add(s.kind);
  }
  return out;
}

/** The binaries the kinds list for doctor, installed from their Debian package unless they say
 *  otherwise; required when a built phase deploys the kind (`needed`). */
export function kindComponents(kinds: KindRegistry = registeredKinds, needed: ReadonlySet<ServiceKind> = kindsOfBuiltPhases()): Component[] {
  const out: Component[] = [];
  for (const k of kinds.values()) {
    for (const r of k.requires) {
      if (!r.doctor) continue;
      out.push({
        name: r.doctor.name,
        binary: r.binary,
        ...(r.paths ? { paths: r.paths } : {}),
        versionArgs: r.doctor.versionArgs,
        neededFor: r.doctor.neededFor,
        required: needed.has(k.kind),
        install: r.doctor.install ?? { kind: 'apt', packages: [r.debianPackage] },
      });
    }
  }
  return out;
}

/** Everything doctor reports, in its order: the kinds' binaries, then the tools. */
export function components(kinds: KindRegistry = registeredKinds, needed?: ReadonlySet<ServiceKind>): Component[] {
  return [...kindComponents(kinds, needed), ...tools];
}

/** The Debian packages `bench setup` installs (the required components plus the test tools). */
export function aptPackages(which: 'required' | 'all'): string[] {
  const set = new Set<string>();
  for (const c of components()) {
    if (c.install.kind === 'apt' && (which === 'all' || c.required)) c.install.packages.forEach((p) => set.add(p));
  }
  return [...set];
}
