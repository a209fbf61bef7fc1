// slicer: data is cut into small chunks with a delay between them (Toxiproxy's slicer toxic),
// which exposes clients that assume a message arrives in one read.
import { toxicFault } from './toxic-fault.ts';

export const slicer = toxicFault({
  name: 'slicer',
  summary: 'slices the data on an edge into small delayed chunks',
  toxic: 'slicer',
  defaultStream: 'downstream',
  params: [
    { name: 'size', type: 'bytes', default: 64, description: 'average chunk size (64)' },
    { name: 'variation', type: 'bytes', default: 32, description: 'chunk size variation, ± (32), less than size' },
    { name: 'delay', type: 'duration', default: 1, description: 'pause between chunks (1ms)' },
  ],
  // Toxiproxy's slicer delay is in microseconds
  attributes: (p) => ({ average_size: p.size as number, size_variation: p.variation as number, delay: Math.round((p.delay as number) * 1000) }),
  describe: (p) => `${p.size} ± ${p.variation} bytes every ${p.delay} ms`,
  check: (p) =>
    (p.size as number) < 1
      ? 'size must be at least 1 byte'
      : (p.variation as number) >= (p.size as number)
        ? `variation ${p.variation} must be less than size ${p.size}`
        : null,
});
