import { defineConfig } from 'vitest/config';

/** Chaos and restart tests: one file at a time, since they kill and restart what others share. */
export default defineConfig({
  test: {
    include: ['test/disruptive/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
