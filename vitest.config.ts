import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['interop/**/*.test.ts'],
          exclude: [
            // Frames over 2 GiB need ~12 GiB of memory: only in `make test-huge`.
            ...(process.env.MPWIRE_HUGE === '1' ? [] : ['interop/huge.test.ts']),
            // MPWIRE_CONTAINERS=0 leaves the container suite out (CI runs it once, on the system Node).
            ...(process.env.MPWIRE_CONTAINERS === '0' ? ['interop/containers/**'] : []),
          ],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Interop suites start many Python processes: run files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
