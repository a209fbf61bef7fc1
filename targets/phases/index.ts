// The ladder: every phase, registered by number, and the options they declare. A duplicate
// number, or one option name declared two ways, is an error at load time.
import type { PhaseDefinition, PhaseParam } from '../../harness/topology/types.ts';
import { phase1 } from './phase-1.ts';
import { phase2 } from './phase-2.ts';
import { phase3 } from './phase-3.ts';
import { phase4 } from './phase-4.ts';
import { phase5 } from './phase-5.ts';
import { phase6 } from './phase-6.ts';
import { phase7 } from './phase-7.ts';

const all = [phase1, phase2, phase3, phase4, phase5, phase6, phase7];

/** Phases by number. */
export const phases: ReadonlyMap<number, PhaseDefinition> = registerPhases(all);

/** The registered phase numbers, ascending: what --phase accepts. */
export const PHASE_NUMBERS: readonly number[] = [...phases.keys()].sort((a, b) => a - b);

/** A declared option and the phases that declare it (the first declaration's default). */
export type RegisteredParam = PhaseParam & { phases: number[] };

/** Every option any phase declares, by name: the CLI registers one flag for each. */
export const phaseParams: ReadonlyMap<string, RegisteredParam> = registerParams(all);

export function registerPhases(list: readonly PhaseDefinition[]): Map<number, PhaseDefinition> {
  const map = new Map<number, PhaseDefinition>();
  for (const p of list) {
    if (map.has(p.phase)) throw new Error(`phase ${p.phase} registered twice`);
    map.set(p.phase, p);
  }
  return map;
}

/** The camelCase key commander gives a flag's value: --app-servers -> appServers. */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The union of the phases' options. One name is one flag: every phase declaring it must agree on
 * the flag, type, range and choices (only the default may differ), and the name must be the key
 * commander gives the flag, or its value would never arrive.
 */
export function registerParams(list: readonly PhaseDefinition[]): Map<string, RegisteredParam> {
  const map = new Map<string, RegisteredParam>();
  const shape = (p: PhaseParam) => JSON.stringify({ ...p, default: undefined, help: undefined, rule: undefined, hint: undefined });
  for (const def of list) {
    for (const p of def.params) {
      if (flagKey(p.flag) !== p.name) throw new Error(`phase ${def.phase}: option ${p.name} has flag ${p.flag}, whose key is ${flagKey(p.flag)}`);
      const seen = map.get(p.name);
      if (!seen) map.set(p.name, { ...p, phases: [def.phase] });
      else if (shape(seen) !== shape({ ...p, phases: seen.phases } as RegisteredParam)) throw new Error(`phase ${def.phase} declares option ${p.name} unlike phase ${seen.phases[0]}`);
      else seen.phases.push(def.phase);
    }
  }
  return map;
}
