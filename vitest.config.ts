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
          // Frames over 2 GiB need ~12 GiB of memory: only in `make test-huge`.
          exclude: process.env.MPWIRE_HUGE === '1' ? [] : ['interop/huge.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Interop suites start many Python processes: run files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
