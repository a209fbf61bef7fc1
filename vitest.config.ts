import { defineConfig } from 'vitest/config';

// Three projects, run one after the other (sequence.groupOrder):
// - unit: the unit tests (pure logic, and in-process servers on ports the OS picks), every file
//   in one shared worker (isolate: false; a fork per file costs ~0.6 s of start-up);
// - int: the integration tests (*.int.test.ts), which start real servers, one file at a time.
//   Two at a time took CI from ~2,000 s to ~1,200 s and passed twice, then failed once: a test
//   stopped its replica and the app's poll found a server answering on that port again. The
//   fixtures' servers (targets/app/testing) share 127.0.0.1, trust auth and one role, and this
//   kernel hands a port just freed out again within 5 binds ~1% of the time, so another file's
//   new server can answer for a dead one. Parallel files need a loopback address per worker
//   first (not done);
// - int-alone: one file at a time, after int, nothing beside them (whatever int does): the files that measure the
//   machine itself (a capacity search finds the highest rate the deployment holds; with another
//   file beside it, a phase 2 search failed its lowest step, p99 2 s), and the Docker runtime's,
//   each of which starts the test daemon when none answers and stops it when done
//   (harness/runtime/docker/testing/dockerd.ts): two at once would race to start it, and the
//   first done would stop it under the other. .ci/run starts one for the whole run; `npm test`
//   on a machine without a running daemon relies on this.
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
        test: { ...shared, name: 'int', include: ['**/*.int.test.ts'], exclude: [...alone, ...skip], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { ...shared, name: 'int-alone', include: alone, exclude: skip, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
