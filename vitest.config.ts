import { defineConfig } from 'vitest/config';

// Two projects, run one after the other (sequence.groupOrder): the unit tests (pure logic, and
// in-process servers on ports the OS picks) in one shared worker (isolate: false; a fork per file
// costs ~0.6 s of start-up), then the integration tests (*.int.test.ts), which start real
// servers, one file at a time, each with a bounded timeout.
// Two integration files at a time took CI from ~2,000 s to ~1,200 s and passed twice, then failed
// once: a test stopped its replica and the app's poll found a server answering on that port
// again (the fixtures' servers in targets/app/testing share 127.0.0.1, trust auth and one role,
// and this kernel hands a just-freed port out again within 5 binds ~1% of the time). Before files
// run side by side, they need a loopback address per worker, and two kinds must still run alone:
// the capacity searches (they measure the machine: beside another file, a phase 2 search failed
// its lowest step) and the Docker runtime's files (each starts the test daemon when none answers
// and stops it when done, harness/runtime/docker/testing/dockerd.ts).
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
