// The Docker runtime's checks before anything starts: the kinds it can run, the binaries of their
// recipes (this machine's in local mode, the images' in official mode), the daemon, the images
// and leftovers of the same run id. One line per problem kind.
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import { type DeployPlan } from '../../topology/plan.ts';
import type { ServiceKind } from '../../topology/types.ts';
import type { Requirement } from '../../../targets/services/types.ts';
import { resolveBinary } from '../binaries.ts';
import { daemonError, messageOf, pingDaemon } from './client.ts';
import { APP_BASE_IMAGE, BUILT_KINDS, hasImage, imageFor, OFFICIAL_BINARIES, unpullable, type ImageKind } from './images.ts';
import { IMAGE_KINDS } from './kinds.ts';
import { labelFilters } from './labels.ts';
import { type Settings } from './settings.ts';


/** The kinds of a plan, checked against what the Docker runtime can run. */
export function kindsOf(plan: DeployPlan): ImageKind[] {
  const kinds = [...new Set(plan.services.map((s) => s.kind))];
  const unknown = kinds.filter((k) => !IMAGE_KINDS.has(k));
  if (unknown.length > 0) {
    throw new BenchError('usage', `the Docker runtime cannot run ${unknown.join(', ')} yet`, 'use --runtime native for this phase');
  }
  return kinds as ImageKind[];
}

/**
 * Binary name -> path for the plan's recipes: on this machine in local mode (they run from the
 * host's /usr), at their place in the official images otherwise.
 */
export function resolveBinaries(plan: DeployPlan, s: Settings): Map<string, string> {
  const out = new Map<string, string>();
  const missing = new Map<string, Requirement>();
  for (const kind of kindsOf(plan)) {
    const recipe = s.recipes.get(kind as ServiceKind);
    if (!recipe) throw new BenchError('internal', `no recipe for kind ${kind}`, 'list one in targets/services/index.ts');
    for (const req of recipe.requires) {
      if (s.images === 'official') {
        const p = OFFICIAL_BINARIES[req.binary];
        if (!p) throw new BenchError('internal', `no path known for ${req.binary} in the official images`, 'add it to OFFICIAL_BINARIES in harness/runtime/docker/images.ts');
        out.set(req.binary, p);
        continue;
      }
      const p = resolveBinary(req, s.repoRoot, s.path);
      if (p) out.set(req.binary, p);
      else missing.set(req.binary, req);
    }
  }
  if (missing.size > 0) {
    const list = [...missing.values()].map((r) => `${r.binary} (${r.debianPackage ? `Debian package ${r.debianPackage}` : 'not in Debian: bench setup builds it'})`);
    throw new BenchError('environment', `--images local runs this machine's binaries, and these are missing: ${list.join(', ')}`, 'run: bench setup, or use --images official');
  }
  return out;
}

/** Everything up() needs, checked before anything starts; one line per problem kind. */
export async function checkDocker(docker: Docker, plan: DeployPlan, s: Settings): Promise<void> {
  const info = await pingDaemon(docker, s.socketPath);
  const kinds = kindsOf(plan);
  resolveBinaries(plan, s);
  grafanaProblem(plan, s);
  if (s.images === 'local') {
    if (info.os !== 'linux') {
      throw new BenchError('environment', `--images local runs this machine's binaries in containers, and the daemon runs ${info.os} containers`, 'use --images official');
    }
  } else {
    const refs = [...kinds.filter((k) => !BUILT_KINDS.has(k)), 'pause' as const].map((k) => imageFor(k, 'official', s.officialImages));
    if (s.grafana) refs.push(imageFor('grafana', 'official', s.officialImages));
    // the app's image is built here, from the Node image
    const built = kinds.filter((k) => BUILT_KINDS.has(k)).map((k) => imageFor(k, 'official', s.officialImages));
    for (const ref of new Set(built)) if (!(await hasImage(docker, ref))) refs.push(APP_BASE_IMAGE);
    for (const ref of refs) {
      if (await hasImage(docker, ref)) continue;
      // asks the registry for the manifest without pulling: an unreachable registry fails here
      try {
        await docker.getImage(ref).distribution();
      } catch (e) {
        throw unpullable(ref, messageOf(e));
      }
    }
  }
  let leftovers: Docker.ContainerInfo[];
  try {
    leftovers = await docker.listContainers({ all: true, filters: labelFilters(plan.runId) });
  } catch (e) {
    throw daemonError(e, s.socketPath);
  }
  if (leftovers.length > 0) {
    throw new BenchError('environment', `run ${plan.runId} already has ${leftovers.length} containers`, 'remove them with: bench down --all');
  }
}

/** --grafana needs the official image (this machine has no Grafana to run) and a Prometheus to show. */
export function grafanaProblem(plan: DeployPlan, s: Settings): void {
  if (!s.grafana) return;
  if (s.images === 'local') throw new BenchError('usage', '--grafana runs the official Grafana image, and --images local pulls nothing', 'drop --grafana, or use --images official');
  if (!plan.prometheus) throw new BenchError('usage', '--grafana shows the run\'s Prometheus, and this run has none', 'drop --grafana, or run with the run\'s own Prometheus');
}
