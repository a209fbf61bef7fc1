// bandwidth: the edge passes at most `rate` KB/s (Toxiproxy's bandwidth toxic).
import { toxicFault } from './toxic-fault.ts';

export const bandwidth = toxicFault({
  name: 'bandwidth',
  summary: 'limits the throughput of an edge',
  toxic: 'bandwidth',
  defaultStream: 'downstream',
  params: [{ name: 'rate', type: 'rate', default: 100, description: 'the rate it passes (100KB/s, 1MB/s; 1 KB = 1000 bytes)' }],
  // Toxiproxy takes whole KB/s; a rate under 1 KB/s would mean "unlimited" to it.
  attributes: (p) => ({ rate: Math.max(1, Math.round(p.rate as number)) }),
  describe: (p) => `${p.rate} KB/s`,
});
