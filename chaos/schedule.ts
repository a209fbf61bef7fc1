// Fault schedules: a small grammar for "what breaks when", parsed and resolved against a plan
// into faults on the load's timeline. Pure: fault-runner.ts applies the result.
//
// Grammar (docs/CHAOS.md has examples):
//   schedule := entry { "," entry }                 (or several --chaos flags)
//   entry    := name [ ":" target ] { ":" param } [ "@" start [ "+" length ] ]
//   name     := a fault (latency, kill, ...) or a drill (dead-server, ...)
//   target   := edge "app->pg-primary" (with * wildcards) | service | host | "a+b|c+d" (partition)
//   param    := value (positional) | key "=" value
//   start, length := 30s | 1m30s | 500ms | 30 (bare number = seconds)
// A fault needs "@start"; a drill without it uses its own default time. Without "+length" the
// fault lasts until the load ends (and is reverted then).
import { BenchError } from '../harness/errors.ts';
import type { DeployPlan } from '../harness/topology/plan.ts';
import { faultKinds, makeFault } from './faults/index.ts';
import { parseDurationMs } from './faults/params.ts';
import type { Fault } from './faults/types.ts';

/** One parsed entry of a schedule, names not yet resolved. */
export interface ScheduleEntry {
  /** the entry as written, for messages */
  text: string;
  name: string;
  target?: string;
  params: string[];
  /** seconds after the load starts; null: not given (a drill's default applies) */
  atS: number | null;
  /** seconds the fault lasts; null: until the load ends (or the drill's default) */
  durationS: number | null;
}

/** A fault placed on the timeline. */
export interface ScheduledFault {
  fault: Fault;
  /** seconds after the load starts */
  startS: number;
  /** null: until the runner is disposed (the load's end) */
  durationS: number | null;
}

const GRAMMAR_HINT = 'write name[:target][:param...]@start[+length], e.g. latency:app->pg-primary:200ms@10s+20s or dead-server@30s';

function parseTime(text: string, what: string, entry: string): number {
  const ms = parseDurationMs(text, 's');
  if (ms === null) throw new BenchError('usage', `chaos entry "${entry}": ${what} "${text}" is not a time`, 'times look like 30s, 1m30s, 500ms or 30 (seconds)');
  return ms / 1000;
}

/** Splits a schedule into entries. Pure; throws BenchError('usage') on malformed text. */
export function parseSchedule(input: string | readonly string[]): ScheduleEntry[] {
  const texts = (typeof input === 'string' ? [input] : input).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  return texts.map((text) => {
    const at = text.lastIndexOf('@');
    const body = at >= 0 ? text.slice(0, at) : text;
    let atS: number | null = null;
    let durationS: number | null = null;
    if (at >= 0) {
      const when = text.slice(at + 1);
      const plus = when.indexOf('+');
      atS = parseTime(plus >= 0 ? when.slice(0, plus) : when, 'start', text);
      if (plus >= 0) {
        durationS = parseTime(when.slice(plus + 1), 'length', text);
        if (durationS <= 0) throw new BenchError('usage', `chaos entry "${text}": the length must be positive`, GRAMMAR_HINT);
      }
    }
    const [name, target, ...params] = body.split(':');
    if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) throw new BenchError('usage', `chaos entry "${text}" has no valid name`, GRAMMAR_HINT);
    if (target === '') throw new BenchError('usage', `chaos entry "${text}" has an empty target`, GRAMMAR_HINT);
    if (params.some((p) => p.trim() === '')) throw new BenchError('usage', `chaos entry "${text}" has an empty parameter`, GRAMMAR_HINT);
    return { text, name, target, params, atS, durationS };
  });
}

/** What the schedule needs to know about drills (drills/index.ts provides it; kept as a parameter
 *  so the grammar does not depend on every drill). */
export interface DrillLookup {
  has(name: string): boolean;
  /** the drill's faults placed on the timeline, validated for the plan's phase */
  schedule(name: string, plan: DeployPlan, options: { target?: string; atS: number | null; durationS: number | null; params: string[] }): ScheduledFault[];
  names(): string[];
}

/** Resolves entries into faults against a plan; every problem throws BenchError('usage'). */
export function resolveSchedule(entries: readonly ScheduleEntry[], plan: DeployPlan, drills?: DrillLookup): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  for (const e of entries) {
    if (faultKinds.has(e.name)) {
      if (e.atS === null) throw new BenchError('usage', `chaos entry "${e.text}" needs a start time`, `add @<time>, e.g. ${e.text}@30s`);
      out.push({ fault: makeFault(e.name, e.target, e.params, plan), startS: e.atS, durationS: e.durationS });
    } else if (drills?.has(e.name)) {
      out.push(...drills.schedule(e.name, plan, { target: e.target, atS: e.atS, durationS: e.durationS, params: e.params }));
    } else {
      throw new BenchError('usage', `unknown fault or drill "${e.name}" in chaos entry "${e.text}"`, `faults: ${[...faultKinds.keys()].join(', ')}${drills ? `; drills: ${drills.names().join(', ')}` : ''}`);
    }
  }
  return out.sort((a, b) => a.startS - b.startS);
}

/**
 * Refuses a schedule with a fault that starts at or after the load's end (`--duration 60s
 * --chaos kill:app-1@90s`): it would never be applied, and the run would look like a fault that
 * cost nothing. Called before anything starts.
 */
export function rejectPastEnd(schedule: readonly ScheduledFault[], loadS: number): void {
  const late = schedule.filter((s) => s.startS >= loadS);
  if (late.length === 0) return;
  const list = late.map((s) => `${s.fault.name} on ${s.fault.target} at ${s.startS} s`).join(', ');
  throw new BenchError('usage', `chaos ${list} starts after the load ends (${loadS} s)`, 'start it earlier (@<time>) or run longer (--duration)');
}
