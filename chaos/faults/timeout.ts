// timeout: a black hole. Data stops flowing; the connection is closed after `timeout` (0 = never,
// until the fault is reverted), as a dead switch or a dropped route looks to the client.
import { toxicFault } from './toxic-fault.ts';

export const timeout = toxicFault({
  name: 'timeout',
  summary: 'black-holes an edge: data stops, connections hang (closed after a timeout if given)',
  toxic: 'timeout',
  // both ways: a request that slips through must not get an answer either
  defaultStream: 'both',
  params: [{ name: 'timeout', type: 'duration', default: 0, description: 'close the connection after this long (0ms = hang until reverted)' }],
  attributes: (p) => ({ timeout: Math.round(p.timeout as number) }),
  describe: (p) => ((p.timeout as number) > 0 ? `(closed after ${p.timeout} ms)` : '(black hole)'),
});
