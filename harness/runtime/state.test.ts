import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** no listener on the machine: the slot logic alone decides */
const none = () => new Set<number>();
/** a claim that always succeeds: these tests' slots are in their own temp root only */
const free = async () => ({ close() {} });
import { join } from 'node:path';
import {
  allocateSlot,
  claimSlotAddress,
  listeningSlots,
  createRunDir,
  ensureStateRoot,
  killRecorded,
  reapRun,
  RUN_MARKER,
  stateRoot,
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
import { signalGroup, signalPid, startTimeOf, terminateGroup } from './process.ts';

const isRoot = process.getuid?.() === 0;

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
    const a = await allocateSlot({ root, listening: none, claim: free });
    const b = await allocateSlot({ root, runId: 'x', listening: none, claim: free });
    expect(a).toBe(1);
    expect(b).toBe(2);
    await releaseSlot(a, { root });
    expect(await allocateSlot({ root, listening: none, claim: free })).toBe(1);
  });

  it('two state roots allocating at once never share a slot: the claim on its address decides', async () => {
    const other = await mkdtemp(join(tmpdir(), 'bench-state-other-'));
    try {
      // both read the kernel's table before either listened (listening: none): the lock files,
      // one per root, cannot tell; the claim on 127.<slot>.255.254 can
      const [a, b] = await Promise.all([allocateSlot({ root, listening: none }), allocateSlot({ root: other, listening: none })]);
      expect(a).not.toBe(b);
      const listening = listeningSlots();
      expect([listening.has(a), listening.has(b)]).toEqual([true, true]);
      await Promise.all([releaseSlot(a, { root }), releaseSlot(b, { root: other })]);
      // the claims are closed with the slots
      const again = await claimSlotAddress(a);
      expect(again).not.toBeNull();
      again!.close();
      // the control: without claims, the same race hands out one slot twice
      const [c, d] = await Promise.all([allocateSlot({ root, listening: none, claim: free }), allocateSlot({ root: other, listening: none, claim: free })]);
      expect(c).toBe(d);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('skips slots of live runs and reuses those of stale ones', async () => {
    const me = { harnessPid: process.pid, harnessStartTime: startTimeOf(process.pid) };
    await writeState(state({ runId: 'live', slot: 1, ...me, services: [] }), { root });
    // a dead harness (pid 2^22 + 1 never exists) whose processes are gone
    await writeState(state({ runId: 'dead', slot: 2, harnessPid: 4194305, services: [] }), { root });
    expect(await allocateSlot({ root, listening: none, claim: free })).toBe(2);
  });

  it('a stale slot lock of a dead process does not block its slot', async () => {
    await allocateSlot({ root, listening: none, claim: free });
    await writeFile(join(root, 'state', 'slots', '2.json'), JSON.stringify({ pid: 4194305, startTime: 1 }));
    expect(await allocateSlot({ root, listening: none, claim: free })).toBe(2);
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

describe('a state directory no one else can steer', () => {
  let root: string;
  let parent: string;
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'bench-own-'));
    root = join(parent, 'state-root');
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('is per user: BENCH_STATE_DIR, else /run/bench for root, else $XDG_RUNTIME_DIR/bench, else /tmp/bench-<uid>', () => {
    expect(stateRoot({ BENCH_STATE_DIR: '/x/y' }, 1000)).toBe('/x/y');
    expect(stateRoot({}, 0)).toBe('/run/bench');
    expect(stateRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/run/user/1000/bench');
    expect(stateRoot({}, 1000)).toBe('/tmp/bench-1000');
    expect(stateRoot({ BENCH_STATE_DIR: ' ' }, 1000)).toBe('/tmp/bench-1000');
  });

  it('creates the root 0700 (0711 for root, so postgres reaches its own directory) and its state dir 0700', async () => {
    await ensureStateRoot(root);
    const search = isRoot ? 0o711 : 0o700;
    expect((await stat(root)).mode & 0o7777).toBe(search);
    expect((await stat(join(root, 'runs'))).mode & 0o7777).toBe(search);
    expect((await stat(join(root, 'state'))).mode & 0o7777).toBe(0o700);
    // an old world-writable root of our own (the former /tmp/bench, 1777) is brought back
    await chmod(root, 0o1777);
    await ensureStateRoot(root);
    expect((await stat(root)).mode & 0o7777).toBe(search);
  });

  it('refuses a root that is a symlink', async () => {
    await mkdir(join(parent, 'elsewhere'));
    await symlink(join(parent, 'elsewhere'), root);
    await expect(ensureStateRoot(root)).rejects.toThrow(/is a symlink/);
  });

  it.skipIf(!isRoot)('refuses a root that belongs to another user', async () => {
    await mkdir(root, { mode: 0o700 });
    await chown(root, 65534, 65534);
    await expect(ensureStateRoot(root)).rejects.toThrow(/belongs to uid 65534/);
  });

  it.skipIf(!isRoot)('ignores, with a warning, a state file that another user planted', async () => {
    await writeState(state({ runId: 'mine' }), { root });
    await writeState(state({ runId: 'planted' }), { root });
    await chown(stateFile('planted', root), 65534, 65534);
    const warnings: string[] = [];
    const runs = await listRuns({ root, warn: (l) => warnings.push(l) });
    expect(runs.map((r) => r.runId)).toEqual(['mine']);
    expect(warnings).toEqual([expect.stringMatching(/ignored state file .*planted\.json: it belongs to uid 65534/)]);
    // and bench down does not act on it
    expect((await reapRun('planted', { root, warn: () => {} })).killed).toEqual([]);
  });

  it('lists nothing from a root that is a symlink, with a warning', async () => {
    const real = join(parent, 'real-root');
    await writeState(state({ runId: 'r' }), { root: real });
    await symlink(real, root);
    const warnings: string[] = [];
    expect(await listRuns({ root, warn: (l) => warnings.push(l) })).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/ignored .*state-root: state directory .* is a symlink/)]);
  });

  it('ignores a state file that is a symlink', async () => {
    await writeState(state({ runId: 'real' }), { root });
    await symlink(stateFile('real', root), stateFile('link', root));
    const warnings: string[] = [];
    expect((await listRuns({ root, warn: (l) => warnings.push(l) })).map((r) => r.runId)).toEqual(['real']);
    expect(warnings).toEqual([expect.stringMatching(/link\.json: it is not a regular file/)]);
  });

  it('deletes only a run directory under the root that carries its marker', async () => {
    const dead = { harnessPid: 4194305, services: [] };
    // marked: removed
    const marked = await createRunDir('r-marked', root);
    expect(await readFile(join(marked, RUN_MARKER), 'utf8')).toBe('r-marked\n');
    await writeState(state({ runId: 'r-marked', dataDir: marked, ...dead }), { root });
    expect((await reapRun('r-marked', { root })).dirs).toEqual([marked]);
    await expect(lstat(marked)).rejects.toThrow();
    // a directory outside the root, named by a state file: left alone
    const victim = join(parent, 'precious');
    await mkdir(victim);
    await writeFile(join(victim, RUN_MARKER), 'r-out\n');
    await writeState(state({ runId: 'r-out', dataDir: victim, ...dead }), { root });
    const warnings: string[] = [];
    expect((await reapRun('r-out', { root, warn: (l) => warnings.push(l) })).dirs).toEqual([]);
    expect((await lstat(victim)).isDirectory()).toBe(true);
    expect(warnings[0]).toMatch(/left .*precious in place: .* is not .*runs\/r-out/);
    // the right place, but without the marker (or with another run's): left alone
    const unmarked = join(root, 'runs', 'r-bare');
    await mkdir(unmarked);
    await writeState(state({ runId: 'r-bare', dataDir: unmarked, ...dead }), { root });
    expect((await reapRun('r-bare', { root, warn: () => {} })).dirs).toEqual([]);
    expect((await lstat(unmarked)).isDirectory()).toBe(true);
    // a symlink in the right place: left alone, and so is what it points to
    await symlink(victim, join(root, 'runs', 'r-link'));
    await writeState(state({ runId: 'r-link', dataDir: join(root, 'runs', 'r-link'), ...dead }), { root });
    expect((await reapRun('r-link', { root, warn: () => {} })).dirs).toEqual([]);
    expect((await lstat(victim)).isDirectory()).toBe(true);
  });
});

describe('signals only to what is provably ours', () => {
  it('never signals pid 1 or below, nor a group of a leader whose start time is unknown', async () => {
    for (const pid of [1, 0, -1]) {
      expect(() => signalPid(pid, 'SIGCONT')).toThrow(/refusing to signal/);
      expect(() => signalGroup(pid, 'SIGCONT')).toThrow(/refusing to signal/);
      await expect(terminateGroup(pid, { graceMs: 10 })).rejects.toThrow(/refusing to signal/);
      expect(await killRecorded({ pid, startTime: 5 }, 10, 'SIGCONT')).toEqual([]);
    }
    // this very process (alive), recorded without a start time: not signalled
    expect(await killRecorded({ pid: process.pid, startTime: 0 }, 10, 'SIGCONT')).toEqual([]);
    expect(await killRecorded({ pid: process.pid, startTime: null as unknown as number }, 10, 'SIGCONT')).toEqual([]);
  });
});
