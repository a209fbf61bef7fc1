// latency: every chunk on an edge waits `latency` ms, ± `jitter` ms (Toxiproxy's latency toxic).
import { toxicFault } from './toxic-fault.ts';

export const latency = toxicFault({
  name: 'latency',
  summary: 'adds latency (with jitter) to the data crossing an edge',
  toxic: 'latency',
  defaultStream: 'downstream',
  params: [
    { name: 'latency', type: 'duration', default: 200, description: 'delay added to each chunk (200ms)' },
    { name: 'jitter', type: 'duration', default: 0, description: 'random variation around the delay, ± (50ms)' },
  ],
  attributes: (p) => ({ latency: Math.round(p.latency as number), jitter: Math.round(p.jitter as number) }),
  describe: (p) => `${p.latency} ms${(p.jitter as number) > 0 ? ` ± ${p.jitter} ms` : ''}`,
  check: (p) => ((p.jitter as number) > (p.latency as number) ? `jitter ${p.jitter} ms exceeds latency ${p.latency} ms (a negative delay makes no sense)` : null),
});
