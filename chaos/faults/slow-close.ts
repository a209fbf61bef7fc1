// slow-close: a closing connection stays open `delay` ms longer (Toxiproxy's slow_close toxic).
import { toxicFault } from './toxic-fault.ts';

export const slowClose = toxicFault({
  name: 'slow-close',
  summary: 'delays the close of connections on an edge',
  toxic: 'slow_close',
  defaultStream: 'downstream',
  params: [{ name: 'delay', type: 'duration', default: 1000, description: 'how long a close is held back (1s)' }],
  attributes: (p) => ({ delay: Math.round(p.delay as number) }),
  describe: (p) => `${p.delay} ms`,
});
