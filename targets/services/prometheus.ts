// The run's Prometheus: scrapes every tier once a second (config generated from the plan), and
// accepts remote write only when the plan says the k6 driver may push its metrics. No
// --web.enable-lifecycle: any local user could otherwise stop it (/-/quit) or make it reload.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prometheusConfig } from '../../harness/metrics/prometheus-config.ts';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { ComponentKind } from './types.ts';

const prometheusConfigSchema = z.object({ kind: z.literal('prometheus') }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    prometheus: Omit<z.infer<typeof prometheusConfigSchema>, 'kind'>;
  }
}

/** Where the recipe writes the run's scrape configuration, inside the service's directory. */
export const prometheusConfigPath = (dir: string) => join(dir, 'prometheus.yml');

export const prometheus: ComponentKind = {
  kind: 'prometheus',
  config: prometheusConfigSchema,
  ports: { main: 9090 },
  tier: 'instrument',
  requires: [
    {
      binary: 'prometheus',
      debianPackage: 'prometheus',
      inImage: '/bin/prometheus',
      doctor: { name: 'Prometheus', neededFor: 'metrics of every run', versionArgs: ['--version'] },
    },
  ],
  image: { official: 'prom/prometheus:v2.42.0' },
  async prepare(ctx) {
    await mkdir(join(ctx.dir, 'data'), { recursive: true });
    await writeFile(prometheusConfigPath(ctx.dir), prometheusConfig(ctx.plan));
  },
  launch(ctx) {
    const { host, port } = ctx.service.address;
    return {
      command: ctx.bin('prometheus'),
      args: [
        `--config.file=${prometheusConfigPath(ctx.dir)}`,
        `--storage.tsdb.path=${join(ctx.dir, 'data')}`,
        `--web.listen-address=${host}:${port}`,
        ...(ctx.plan.prometheusRemoteWrite ? ['--web.enable-remote-write-receiver'] : []),
        '--storage.tsdb.retention.time=1d',
      ],
      cwd: ctx.dir,
      stopSignal: 'SIGTERM',
    };
  },
  async ready(ctx) {
    const { host, port } = ctx.service.address;
    await waitFor.http(`http://${host}:${port}/-/ready`, { status: 200, timeoutMs: 15_000, signal: ctx.signal });
  },
};
