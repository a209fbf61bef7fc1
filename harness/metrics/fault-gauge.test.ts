import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { createFaultGauge, serveRegistries } from './fault-gauge.ts';

describe('fault gauge', () => {
  it('flips a fault on and off and clears', async () => {
    const g = createFaultGauge();
    g.set('latency', 'app->pg-primary', true);
    expect(await g.registry.metrics()).toContain('bench_fault_active{fault="latency",target="app->pg-primary"} 1');
    g.set('latency', 'app->pg-primary', false);
    expect(await g.registry.metrics()).toContain('bench_fault_active{fault="latency",target="app->pg-primary"} 0');
    g.clear();
    expect(await g.registry.metrics()).not.toContain('fault="latency"');
  });

  it('serves merged registries live on a loopback address', async () => {
    const g = createFaultGauge();
    const engine = new Registry();
    const reqs = new Counter({ name: 'k6_http_reqs_total', help: 'r', registers: [engine] });
    const server = await serveRegistries({ host: '127.0.0.1', port: 0 }, [engine, g.registry]);
    try {
      reqs.inc(3);
      g.set('kill', 'app', true);
      const text = await (await fetch(server.url)).text();
      expect(text).toContain('k6_http_reqs_total 3');
      expect(text).toContain('bench_fault_active{fault="kill",target="app"} 1');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
