import { defineConfig } from 'vitest/config';

// Integration tests (*.int.test.ts) start real servers: run them one file at a time so two
// suites never fight for the machine's two cores, and give each a bounded timeout.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'loadtests/**', '.runs/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
