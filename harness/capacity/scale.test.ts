import { describe, expect, it } from 'vitest';
import { usageError } from '../testing/usage-error.ts';
import { parseMemoryMb, parseScale, parseSize, parseSizes, thisMachine, type Machine } from './scale.ts';

// a machine fixed for the tests, whatever runs them
const machine: Machine = { cores: 2, memoryMb: 8_000 };

const line = (fn: () => unknown) => {
  const e = usageError(fn);
  expect(e.exitCode).toBe(2);
  expect(e.oneLine()).not.toContain('\n');
  return e.oneLine();
};

describe('parseScale', () => {
  it.each([
    ['app-servers=1..4', 'app-servers', [1, 2, 3, 4]],
    ['shards=1..3', 'shards', [1, 2, 3]],
    ['workers=2..5', 'workers', [2, 3, 4, 5]],
    ['app-servers=1,2,4', 'app-servers', [1, 2, 4]],
    ['app-servers=4,1,2', 'app-servers', [1, 2, 4]],
    ['db-cpu=0.25,0.5,1', 'db-cpu', [0.25, 0.5, 1]],
    ['app-cpu=0.2, 0.4', 'app-cpu', [0.2, 0.4]],
    [' db-cpu = 2,1 ', 'db-cpu', [1, 2]],
  ])('%s', (raw, dimension, values) => {
    expect(parseScale(raw, machine)).toEqual({ dimension, values });
  });

  it.each([
    ['app-servers', /is not DIMENSION=VALUES/],
    ['cpus=1..4', /"cpus" is not a dimension that can be scaled — use one of app-servers, shards, workers, db-cpu, app-cpu/],
    ['app-servers=4..1', /empty or one-point range/],
    ['app-servers=2..2', /empty or one-point range/],
    ['app-servers=1..K', /"1..K" is not a whole number/],
    ['app-servers=0..3', /0 is out of range — use counts from 1 to 32/],
    ['app-servers=1..40', /40 is out of range/],
    ['app-servers=1.5,2', /"1.5" is not a whole number/],
    ['app-servers=3', /has one value: there is nothing to compare/],
    ['app-servers=1,2,2', /repeats a value/],
    ['db-cpu=0.25..1', /takes a list of sizes, not a range/],
    ['db-cpu=1..2', /takes a list of sizes, not a range/],
    ['db-cpu=0.5,3', /3 cores is more than this machine has \(2\) — give at most 2/],
    ['db-cpu=0,1', /0 cores is no CPU at all/],
    ['db-cpu=0.001,1', /below the smallest quota the kernel enforces/],
    ['db-cpu=half,1', /"half" is not a number of cores/],
    ['db-cpu=', /is not DIMENSION=VALUES/],
  ])('rejects %j in one line', (raw, pattern) => {
    expect(line(() => parseScale(raw, machine))).toMatch(pattern);
  });

  it('names the flag it parses', () => {
    expect(line(() => parseScale('x=1', machine))).toMatch(/^--scale /);
  });
});

describe('parseSize', () => {
  it.each([
    ['db-host=1,2g', { host: 'db-host', cpus: 1, memoryMb: 2048 }],
    ['db-host=0.5', { host: 'db-host', cpus: 0.5 }],
    ['app-1=0.25,512m', { host: 'app-1', cpus: 0.25, memoryMb: 512 }],
    ['cache=0.25, 262144k', { host: 'cache', cpus: 0.25, memoryMb: 256 }],
    ['lb=2,1.5G', { host: 'lb', cpus: 2, memoryMb: 1536 }],
    ['lb=1,256MB', { host: 'lb', cpus: 1, memoryMb: 256 }],
  ])('%s', (raw, size) => {
    expect(parseSize(raw, machine)).toEqual(size);
  });

  it.each([
    ['db-host', /is not HOST=CPU\[,MEM\]/],
    ['db-host=', /is not HOST=CPU\[,MEM\]/],
    ['DB=1', /"DB" is not a host name/],
    ['db-host=one', /"one" is not a number of cores/],
    ['db-host=0', /0 cores is no CPU at all/],
    ['db-host=4', /4 cores is more than this machine has \(2\)/],
    ['db-host=1,2', /memory "2" needs a unit/],
    ['db-host=1,2t', /memory "2t" needs a unit/],
    ['db-host=1,1000k', /not a whole number of MB/],
    ['db-host=1,64g', /more than this machine has \(8000 MB\)/],
    ['db-host=1,0m', /too small/],
  ])('rejects %j in one line', (raw, pattern) => {
    const text = line(() => parseSize(raw, machine));
    expect(text).toMatch(pattern);
    expect(text).toMatch(/^--size /);
  });

  it('takes repeated flags and refuses the same host twice', () => {
    expect(parseSizes(['db-host=1,2g', 'app-1=0.5'], machine)).toEqual({
      'db-host': { host: 'db-host', cpus: 1, memoryMb: 2048 },
      'app-1': { host: 'app-1', cpus: 0.5 },
    });
    expect(parseSizes([], machine)).toEqual({});
    expect(line(() => parseSizes(['db-host=1', 'db-host=0.5'], machine))).toBe('--size sizes db-host twice — give one --size per host');
  });

  it('reads memory in k, m and g', () => {
    expect(parseMemoryMb('--size x', '1g', machine)).toBe(1024);
    expect(parseMemoryMb('--size x', '300m', machine)).toBe(300);
    expect(parseMemoryMb('--size x', '2048k', machine)).toBe(2);
  });

  it('knows this machine', () => {
    const m = thisMachine();
    expect(m.cores).toBeGreaterThanOrEqual(1);
    expect(m.memoryMb).toBeGreaterThan(0);
  });
});
