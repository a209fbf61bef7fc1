// The network side of a Docker run: its own bridge network (ports published on loopback only),
// and per service a holder container that owns the service's network namespace, its alias and
// its published ports, so that a killed service leaves its address refusing connections.
import { createServer } from 'node:net';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import type { PlannedService } from '../../topology/plan.ts';
import { statusOf } from './client.ts';
import { imageFor } from './images.ts';
import type { NetworkInfo } from './kinds.ts';
import { LABEL_ROLE, netContainerName, networkAlias, networkName, serviceLabels } from './labels.ts';
import type { Settings } from './settings.ts';
import { PUBLISH_IP } from './views.ts';

/** A free TCP port on 127.0.0.1, picked by the kernel (then released for Docker to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, PUBLISH_IP, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Creates the run's bridge network and reads back its subnet and gateway. */
export async function createRunNetwork(docker: Docker, runId: string, labels: Record<string, string>, dockerError: (e: unknown, what: string) => BenchError): Promise<NetworkInfo> {
  const name = networkName(runId);
  let net: Docker.Network;
  try {
    net = await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: labels,
      // a port published without an address binds loopback, not every interface
      Options: { 'com.docker.network.bridge.host_binding_ipv4': PUBLISH_IP },
    });
  } catch (e) {
    if (statusOf(e) === 409) throw new BenchError('environment', `network ${name} already exists`, 'a run with this id was left behind: bench down --all');
    throw dockerError(e, `creating network ${name}`);
  }
  const info = await net.inspect();
  const cfg = (info.IPAM?.Config ?? [])[0] as { Subnet?: string; Gateway?: string } | undefined;
  if (!cfg?.Subnet) throw new BenchError('internal', `network ${name} has no IPv4 subnet`);
  const gateway = cfg.Gateway ?? cfg.Subnet.replace(/\.\d+\/\d+$/, '.1');
  return { name, subnet: cfg.Subnet, gateway };
}

/**
 * The create options of a service's network holder: a container that only sleeps, owns the
 * service's network namespace, its alias on the run's network and its published ports. The
 * service's own container joins that namespace, so a killed service leaves its address in place
 * and a client's next connect is refused at once, as when a process dies on a live host (a
 * container's own namespace would vanish with it, and in-flight connects would hang).
 */
export function netHolderOptions(
  run: { runId: string; settings: Pick<Settings, 'images' | 'officialImages'>; labels: Record<string, string>; network: NetworkInfo; hostMounts: readonly string[] },
  service: PlannedService,
  ports: ReadonlyMap<number, number>,
): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const [inside, outside] of ports) {
    exposed[`${inside}/tcp`] = {};
    bindings[`${inside}/tcp`] = [{ HostIp: PUBLISH_IP, HostPort: String(outside) }];
  }
  const alias = networkAlias(service.name);
  const local = run.settings.images === 'local';
  return {
    name: netContainerName(run.runId, service.name),
    Hostname: alias,
    Image: imageFor('pause', run.settings.images, run.settings.officialImages),
    // the official pause image's entrypoint sleeps; the base image runs the host's sleep
    ...(local ? { Entrypoint: ['/usr/bin/sleep'], Cmd: ['infinity'] } : {}),
    Labels: serviceLabels(run.runId, service.name, service.kind, { ...run.labels, [LABEL_ROLE]: 'net' }),
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: run.network.name,
      PortBindings: bindings,
      Mounts: local ? run.hostMounts.map((p) => ({ Type: 'bind' as const, Source: p, Target: p, ReadOnly: true })) : [],
      Memory: 32 * 1024 * 1024,
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { [run.network.name]: { Aliases: [alias] } } },
  };
}
