// reset-peer: connections are reset (TCP RST) when data arrives, after `timeout` ms.
import { toxicFault } from './toxic-fault.ts';

export const resetPeer = toxicFault({
  name: 'reset-peer',
  summary: 'resets connections (TCP RST) when data crosses an edge',
  toxic: 'reset_peer',
  // downstream: the server did the work and the client never hears it, the ambiguous case
  defaultStream: 'downstream',
  params: [{ name: 'timeout', type: 'duration', default: 0, description: 'wait this long after data arrives before the reset (0ms = at once)' }],
  attributes: (p) => ({ timeout: Math.round(p.timeout as number) }),
  describe: (p) => ((p.timeout as number) > 0 ? `after ${p.timeout} ms` : 'at once'),
});
