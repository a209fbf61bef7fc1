import { defineConfig } from 'vitest/config';

// Three projects, run one after the other (sequence.groupOrder):
// - unit: the unit tests (pure logic, and in-process servers on ports the OS picks), every file
//   in one shared worker (isolate: false; a fork per file costs ~0.6 s of start-up);
// - int: the integration tests (*.int.test.ts), which start real servers, two files at a time.
//   Each file owns what it starts (its own state root, ports the OS picks, its own address
//   blocks), so two never meet; the machine's two cores are shared, and every timed assertion
//   in them is bounded for that (a drill's objectives, not the machine's speed). Run one at a
//   time they took 1,742 s of a 1,919 s CI; two at a time, about 1,000 s;
// - int-alone: the files that measure the machine itself (a capacity search finds the highest
//   rate the deployment holds): run alone, after int, as a capacity measurement must be. With
//   another file beside it, a phase 2 capacity search failed its lowest step (p99 2 s).
const shared = { testTimeout: 20_000, hookTimeout: 60_000, pool: 'forks' as const };
const alone = ['harness/capacity/capacity.int.test.ts', 'harness/capacity/ladder.int.test.ts'];
const skip = ['node_modules/**', 'loadtests/**', '.runs/**'];

export default defineConfig({
  test: {
    exclude: skip,
    projects: [
      {
        extends: true,
        test: { ...shared, name: 'unit', isolate: false, fileParallelism: false, include: ['**/*.test.ts'], exclude: ['**/*.int.test.ts', ...skip], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { ...shared, name: 'int', include: ['**/*.int.test.ts'], exclude: [...alone, ...skip], fileParallelism: true, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { ...shared, name: 'int-alone', include: alone, exclude: skip, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
