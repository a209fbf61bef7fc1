// limit-data: a connection is closed once `bytes` have crossed it (Toxiproxy's limit_data toxic).
import { toxicFault } from './toxic-fault.ts';

export const limitData = toxicFault({
  name: 'limit-data',
  summary: 'closes each connection on an edge after a number of bytes',
  toxic: 'limit_data',
  defaultStream: 'downstream',
  params: [{ name: 'bytes', type: 'bytes', default: 1000, description: 'bytes a connection may carry (1KB)' }],
  attributes: (p) => ({ bytes: p.bytes as number }),
  describe: (p) => `after ${p.bytes} bytes`,
  check: (p) => ((p.bytes as number) < 1 ? 'bytes must be at least 1' : null),
});
