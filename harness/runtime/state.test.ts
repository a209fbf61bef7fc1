import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** no listener on the machine: the slot logic alone decides */
const none = () => new Set<number>();
import { join } from 'node:path';
import {
  allocateSlot,
  heldSlots,
  listRuns,
  markKept,
  pickSlot,
  reapAll,
  readState,
  releaseSlot,
  runStatus,
  stateFile,
  writeState,
  type ProcessProbe,
  type RunState,
} from './state.ts';
import { startTimeOf } from './process.ts';

const state = (over: Partial<RunState> = {}): RunState => ({
  runId: 'r1',
  slot: 1,
  runDir: '/x/.runs/r1',
  dataDir: '/tmp/none/runs/r1',
  createdAt: '2026-01-01T00:00:00.000Z',
  harnessPid: 100,
  harnessStartTime: 5,
  cgroups: [],
  services: [{ name: 'pg', pid: 200, startTime: 7, dir: '/d/pg', cgroups: [] }],
  ...over,
});

/** Alive: exactly the (pid, start time) pairs listed. */
const probe = (alive: [number, number][]): ProcessProbe => (pid, st) => alive.some(([p, s]) => p === pid && s === st);

describe('run status', () => {
  it('is stale only when the harness and every recorded process are gone', () => {
    expect(runStatus(state(), probe([[100, 5]])).stale).toBe(false);
    expect(runStatus(state(), probe([[200, 7]])).stale).toBe(false);
    expect(runStatus(state(), probe([[200, 7]])).live.map((s) => s.name)).toEqual(['pg']);
    expect(runStatus(state(), probe([])).stale).toBe(true);
  });

  it('does not take a recycled pid for the recorded process', () => {
    // pid 200 runs, but started at another time: someone else's process
    const s = runStatus(state(), probe([[200, 99], [100, 6]]));
    expect(s.live).toEqual([]);
    expect(s.harnessAlive).toBe(false);
    expect(s.stale).toBe(true);
  });
});

describe('slot choice', () => {
  it('picks the lowest slot not held', () => {
    expect(pickSlot(new Set())).toBe(1);
    expect(pickSlot(new Set([1, 2, 4]))).toBe(3);
    expect(() => pickSlot(new Set(Array.from({ length: 254 }, (_, i) => i + 1)))).toThrow(/254/);
  });

  it('counts a slot as held while its run is live, and free once it is stale', () => {
    const states = [state({ runId: 'a', slot: 1 }), state({ runId: 'b', slot: 2, harnessPid: 300, services: [] })];
    expect([...heldSlots(states, probe([[100, 5]]))]).toEqual([1]);
    expect([...heldSlots(states, probe([[200, 7]]))]).toEqual([1]);
    expect([...heldSlots(states, probe([]))]).toEqual([]);
  });
});

describe('state files (on a temporary root)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'bench-state-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes atomically and reads back', async () => {
    await writeState(state({ runId: 'w1' }), { root });
    expect((await readState('w1', { root }))?.services[0]?.pid).toBe(200);
    expect((await readdir(join(root, 'state'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('allocates distinct slots in one process and gives them back', async () => {
    const a = await allocateSlot({ root, listening: none });
    const b = await allocateSlot({ root, runId: 'x', listening: none });
    expect(a).toBe(1);
    expect(b).toBe(2);
    await releaseSlot(a, { root });
    expect(await allocateSlot({ root, listening: none })).toBe(1);
  });

  it('skips slots of live runs and reuses those of stale ones', async () => {
    const me = { harnessPid: process.pid, harnessStartTime: startTimeOf(process.pid) };
    await writeState(state({ runId: 'live', slot: 1, ...me, services: [] }), { root });
    // a dead harness (pid 2^22 + 1 never exists) whose processes are gone
    await writeState(state({ runId: 'dead', slot: 2, harnessPid: 4194305, services: [] }), { root });
    expect(await allocateSlot({ root, listening: none })).toBe(2);
  });

  it('a stale slot lock of a dead process does not block its slot', async () => {
    await allocateSlot({ root, listening: none });
    await writeFile(join(root, 'state', 'slots', '2.json'), JSON.stringify({ pid: 4194305, startTime: 1 }));
    expect(await allocateSlot({ root, listening: none })).toBe(2);
  });

  it('lists runs with what is alive, and reaps the dead ones but not live or kept ones', async () => {
    const me = { harnessPid: process.pid, harnessStartTime: startTimeOf(process.pid) };
    const dataDir = join(root, 'runs', 'dead');
    await writeFile(join(root, 'marker'), '');
    await writeState(state({ runId: 'live', slot: 1, ...me, services: [], createdAt: '2026-01-01T00:00:01Z' }), { root });
    await writeState(state({ runId: 'dead', slot: 2, harnessPid: 4194305, dataDir, createdAt: '2026-01-01T00:00:02Z' }), { root });
    await writeState(state({ runId: 'kept', slot: 3, harnessPid: 4194305, services: [], createdAt: '2026-01-01T00:00:03Z' }), { root });
    await markKept('kept', { root });
    const runs = await listRuns({ root });
    expect(runs.map((r) => [r.runId, r.harnessAlive, r.stale])).toEqual([
      ['live', true, false],
      ['dead', false, true],
      ['kept', false, true],
    ]);
    expect(runs[1]!.services[0]!.alive).toBe(false);
    const reaped = await reapAll({ root, onlyDead: true });
    // a kept run with nothing alive is a leftover too
    expect(reaped.map(String)).toEqual(['dead', 'kept']);
    expect(`${reaped.join(', ')}`).toBe('dead, kept');
    expect((await listRuns({ root })).map((r) => r.runId)).toEqual(['live']);
    await expect(readFile(stateFile('dead', root))).rejects.toThrow();
  });
});

describe('listeningSlots', () => {
  it('finds the second octet of loopback listeners and ignores other addresses and states', async () => {
    const { listeningSlots } = await import('./state.ts');
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100077F:20CA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0101027F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   2: 0101037F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   3: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   4: 0101A8C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    ].join('\n');
    expect([...listeningSlots(table)].sort()).toEqual([2, 7]);
  });
});
