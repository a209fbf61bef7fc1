// The run's Prometheus: scrapes every tier once a second (config generated from the plan), accepts
// remote write (the k6 driver pushes its metrics) and reloads over HTTP.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prometheusConfig } from '../../harness/metrics/prometheus-config.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { ServiceRecipe } from './types.ts';

/** Where the recipe writes the run's scrape configuration, inside the service's directory. */
export const prometheusConfigPath = (dir: string) => join(dir, 'prometheus.yml');

export const prometheus: ServiceRecipe = {
  kind: 'prometheus',
  requires: [{ binary: 'prometheus', debianPackage: 'prometheus' }],
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
        '--web.enable-remote-write-receiver',
        '--web.enable-lifecycle',
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
