// The flags that say what a capacity search varies and how big each host is:
//   --scale app-servers=1..4 | db-cpu=0.25,0.5,1 | app-cpu=0.2,0.4 | shards=1..K | workers=1..K
//   --size HOST=CPU[,MEM]   (repeatable: --size db-host=1,2g --size app-1=0.5)
// Checked against this machine before anything starts: a size the machine cannot give would be
// recorded in the results but never enforced, and the numbers would describe another machine.
import { availableParallelism, totalmem } from 'node:os';
import { usageError } from '../errors.ts';

/** What this machine has, injected so tests do not depend on the machine they run on. */
export interface Machine {
  cores: number;
  memoryMb: number;
}

export function thisMachine(): Machine {
  return { cores: availableParallelism(), memoryMb: Math.floor(totalmem() / 2 ** 20) };
}

/** The dimensions a capacity search can scale, and whether each counts units or CPU cores. */
export const SCALE_DIMENSIONS = {
  'app-servers': 'count',
  shards: 'count',
  workers: 'count',
  'db-cpu': 'cpu',
  'app-cpu': 'cpu',
} as const;
export type ScaleDimension = keyof typeof SCALE_DIMENSIONS;

/** A parsed --scale: the values in ascending order, at least two of them. */
export interface Scale {
  dimension: ScaleDimension;
  values: number[];
}

/** The most units of one kind a scale may ask for: each is a process on this machine. */
export const MAX_SCALE_COUNT = 32;
/** The kernel's smallest CFS quota is 1 ms per 100 ms period: 0.01 of a core. */
export const MIN_CPUS = 0.01;

const SCALE_EXAMPLE = `write it like --scale app-servers=1..4 or --scale db-cpu=0.25,0.5,1`;

/** Parses `--scale DIMENSION=VALUES`: a range `a..b` or a list `a,b,c` (CPU dimensions: lists only). */
export function parseScale(raw: string, machine: Machine = thisMachine(), flag = '--scale'): Scale {
  const m = /^\s*([a-z-]+)\s*=\s*(.+?)\s*$/.exec(raw);
  if (!m) throw usageError(`${flag} ${JSON.stringify(raw)} is not DIMENSION=VALUES`, SCALE_EXAMPLE);
  const name = m[1]!;
  const spec = m[2]!;
  if (!(name in SCALE_DIMENSIONS)) {
    throw usageError(`${flag} ${JSON.stringify(name)} is not a dimension that can be scaled`, `use one of ${Object.keys(SCALE_DIMENSIONS).join(', ')}`);
  }
  const dimension = name as ScaleDimension;
  const kind = SCALE_DIMENSIONS[dimension];
  let values: number[];
  if (kind === 'cpu' && spec.includes('..')) {
    throw usageError(`${flag} ${dimension} takes a list of sizes, not a range`, `for example ${flag} ${dimension}=0.25,0.5,1`);
  }
  const range = /^(\d+)\s*\.\.\s*(\d+)$/.exec(spec);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (from >= to) throw usageError(`${flag} ${dimension}=${spec} is an empty or one-point range`, `give a range that grows, like ${dimension}=1..4`);
    // the ends are checked before the range is spelt out: 1..1000000000 must not allocate first
    for (const v of [from, to]) {
      if (v < 1 || v > MAX_SCALE_COUNT) throw usageError(`${flag} ${dimension}=${spec}: ${v} is out of range`, `use counts from 1 to ${MAX_SCALE_COUNT}`);
    }
    values = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  } else {
    values = spec.split(',').map((part) => {
      const text = part.trim();
      const ok = kind === 'count' ? /^\d+$/.test(text) : /^\d+(\.\d+)?$/.test(text);
      if (!ok) {
        const what = kind === 'count' ? 'a whole number' : 'a number of cores';
        throw usageError(`${flag} ${dimension}: ${JSON.stringify(text)} is not ${what}`, kind === 'count' ? `for example ${dimension}=1..4 or ${dimension}=1,2,4` : `for example ${dimension}=0.25,0.5,1`);
      }
      return Number(text);
    });
  }
  for (const v of values) {
    if (kind === 'count' && (v < 1 || v > MAX_SCALE_COUNT)) {
      throw usageError(`${flag} ${dimension}=${spec}: ${v} is out of range`, `use counts from 1 to ${MAX_SCALE_COUNT}`);
    }
    if (kind === 'cpu') checkCpus(`${flag} ${dimension}=${spec}`, v, machine);
  }
  const sorted = [...values].sort((a, b) => a - b);
  if (new Set(sorted).size !== sorted.length) throw usageError(`${flag} ${dimension}=${spec} repeats a value`, `give each value once`);
  if (sorted.length < 2) throw usageError(`${flag} ${dimension}=${spec} has one value: there is nothing to compare`, `give at least two, like ${dimension}=${kind === 'count' ? '1..4' : '0.25,0.5,1'}`);
  return { dimension, values: sorted };
}

/** One host's size from `--size HOST=CPU[,MEM]`; memoryMb undefined keeps the phase's default. */
export interface SizeOverride {
  host: string;
  cpus: number;
  memoryMb?: number;
}

const SIZE_EXAMPLE = `write it like --size db-host=1,2g (cores, then memory in k, m or g)`;

/** Parses one `--size HOST=CPU[,MEM]`. */
export function parseSize(raw: string, machine: Machine = thisMachine(), flag = '--size'): SizeOverride {
  const m = /^\s*([^=\s]+)\s*=\s*([^,\s]+)\s*(?:,\s*(\S+)\s*)?$/.exec(raw);
  if (!m) throw usageError(`${flag} ${JSON.stringify(raw)} is not HOST=CPU[,MEM]`, SIZE_EXAMPLE);
  const host = m[1]!;
  if (!/^[a-z][a-z0-9-]*$/.test(host)) throw usageError(`${flag} ${JSON.stringify(host)} is not a host name`, `host names are lower case letters, digits and -, like db-host`);
  const cpuText = m[2]!;
  if (!/^\d+(\.\d+)?$/.test(cpuText)) throw usageError(`${flag} ${host}=${cpuText}: ${JSON.stringify(cpuText)} is not a number of cores`, SIZE_EXAMPLE);
  const cpus = Number(cpuText);
  checkCpus(`${flag} ${host}`, cpus, machine);
  if (m[3] === undefined) return { host, cpus };
  return { host, cpus, memoryMb: parseMemoryMb(`${flag} ${host}`, m[3], machine) };
}

/** Parses every `--size` given (the flag repeats); the same host twice is an error. */
export function parseSizes(raws: readonly string[], machine: Machine = thisMachine(), flag = '--size'): Record<string, SizeOverride> {
  const sizes: Record<string, SizeOverride> = {};
  for (const raw of raws) {
    const size = parseSize(raw, machine, flag);
    if (sizes[size.host]) throw usageError(`${flag} sizes ${size.host} twice`, `give one --size per host`);
    sizes[size.host] = size;
  }
  return sizes;
}

/** A memory size with a unit (k, m, g; case-insensitive, an optional b) as whole MB. */
export function parseMemoryMb(what: string, raw: string, machine: Machine = thisMachine()): number {
  const m = /^(\d+(?:\.\d+)?)([kmg])b?$/i.exec(raw.trim());
  if (!m) throw usageError(`${what} memory ${JSON.stringify(raw)} needs a unit`, `write it like 512m, 2g or 262144k`);
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const mb = unit === 'g' ? value * 1024 : unit === 'm' ? value : value / 1024;
  // cgroups and Docker take bytes, but sizes here are whole MB (HostSize.memoryMb): say so rather
  // than round a limit the user chose
  if (!Number.isInteger(mb)) throw usageError(`${what} memory ${raw} is not a whole number of MB`, `round it, like 1536m for 1.5g`);
  if (mb < 1) throw usageError(`${what} memory ${raw} is too small`, `give at least 1m`);
  if (mb > machine.memoryMb) {
    throw usageError(`${what} memory ${raw} is more than this machine has (${machine.memoryMb} MB)`, `give at most ${machine.memoryMb}m`);
  }
  return mb;
}

function checkCpus(what: string, cpus: number, machine: Machine): void {
  if (!(cpus > 0)) throw usageError(`${what}: ${cpus} cores is no CPU at all`, `give a share above 0, like 0.25`);
  if (cpus < MIN_CPUS) throw usageError(`${what}: ${cpus} cores is below the smallest quota the kernel enforces`, `give at least ${MIN_CPUS}`);
  if (cpus > machine.cores) {
    throw usageError(`${what}: ${cpus} cores is more than this machine has (${machine.cores})`, `give at most ${machine.cores}`);
  }
}
