import { defineConfig } from 'vitest/config';

// Three projects, run one after the other (sequence.groupOrder):
// - unit: the unit tests (pure logic, and in-process servers on ports the OS picks), every file
//   in one shared worker (isolate: false; a fork per file costs ~0.6 s of start-up);
// - int: the integration tests (*.int.test.ts), which start real servers, two files at a time.
//   Two files never meet: each deploys into its own state root on a slot reserved machine-wide
//   (harness/runtime/testing/run-helpers.ts: addresses 127.<slot>.x.y), and the fixtures' servers
//   (targets/app/testing) listen on their worker's own address, 127.0.<VITEST_POOL_ID>.1: on one
//   shared 127.0.0.1 a port a test's server had just given up could be handed to the other file's
//   new server (this kernel gives a just-freed port out again within 5 binds ~1% of the time), and
//   a check meant to find nothing there would find a PostgreSQL answering. The two cores are
//   shared; every timed assertion is a drill's objective or a bound, not the machine's speed;
// - int-alone: one file at a time, after int, nothing beside them: the files that measure the
//   machine itself (a capacity search finds the highest rate the deployment holds; beside another
//   file, a phase 2 search failed its lowest step, p99 2 s), and the Docker runtime's: each starts
//   the test daemon when none answers and stops it when done (harness/runtime/docker/testing/
//   dockerd.ts), so two at once would race to start it and the first done would stop it under
//   the other (.ci/run starts one for the whole run; a plain `npm test` relies on this).
const shared = { testTimeout: 20_000, hookTimeout: 60_000, pool: 'forks' as const };
const alone = ['harness/capacity/capacity.int.test.ts', 'harness/capacity/ladder.int.test.ts', 'harness/runtime/docker/*.int.test.ts'];
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
