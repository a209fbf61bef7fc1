// The ladder: every phase, registered by number. A duplicate number is an error at load time.
import type { PhaseDefinition } from '../../harness/topology/types.ts';
import { phase1 } from './phase-1.ts';
import { phase2 } from './phase-2.ts';
import { phase3 } from './phase-3.ts';
import { phase4 } from './phase-4.ts';
import { phase5 } from './phase-5.ts';
import { phase6 } from './phase-6.ts';
import { phase7 } from './phase-7.ts';

const all = [phase1, phase2, phase3, phase4, phase5, phase6, phase7];

export const phases: ReadonlyMap<number, PhaseDefinition> = (() => {
  const map = new Map<number, PhaseDefinition>();
  for (const p of all) {
    if (map.has(p.phase)) throw new Error(`phase ${p.phase} registered twice`);
    map.set(p.phase, p);
  }
  return map;
})();
