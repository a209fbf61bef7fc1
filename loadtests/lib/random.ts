// Deterministic randomness for the k6 scripts. The generator, the Zipf sampler and the weighted
// picker are the embedded engine's own (harness/load/random.ts, pure TypeScript with no imports, so
// k6's VM runs it too); this file adds what k6's execution model needs on top.
//
// k6 hands iterations to whichever VU is free, so a per-VU sequence would make the traffic depend
// on scheduling. Instead every iteration gets its own stream keyed by (seed, iteration number):
// the n-th iteration of a run draws the same request whatever VU runs it, and two runs with the
// same seed send the same requests.
import { seededRandom, type Random } from '../../harness/load/random.ts';

/** Mixes 32-bit words into one well-spread 32-bit word (murmur3's finaliser over a running hash). */
export function hash32(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    // numbers above 2^32 (iteration counts, large seeds) contribute both halves
    const lo = w >>> 0;
    const hi = Math.floor(w / 4294967296) >>> 0;
    h = Math.imul(h ^ lo, 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h ^ hi, 0xc2b2ae35);
    h = (h << 15) | (h >>> 17);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The random source of one iteration of a run: the same (seed, iteration) always draws the same numbers. */
export function iterationRandom(seed: number, iteration: number): Random {
  return seededRandom(hash32(seed, iteration));
}
