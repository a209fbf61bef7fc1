import { defineConfig } from 'vitest/config';

// Two projects, run one after the other (sequence.groupOrder): the unit tests (pure logic, and
// in-process servers on ports the OS picks) on every core, then the integration tests
// (*.int.test.ts), which start real servers, one file at a time so two suites never fight for
// the machine's two cores, each with a bounded timeout. A fork per unit file costs ~0.6 s of
// start-up: run in parallel, the unit project takes about half its sequential wall time.
const shared = { testTimeout: 20_000, hookTimeout: 60_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'loadtests/**', '.runs/**'],
    projects: [
      {
        extends: true,
        test: { ...shared, name: 'unit', isolate: false, fileParallelism: false, include: ['**/*.test.ts'], exclude: ['**/*.int.test.ts', 'node_modules/**', 'loadtests/**', '.runs/**'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { ...shared, name: 'int', include: ['**/*.int.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
