import { defineConfig } from 'vitest/config';

/**
 * The files that run the Redis scripts (limiter, credit gate, key states, activity, live
 * settings, paid answers) and the queue, again on a 3-master Redis Cluster: a CROSSSLOT error
 * or a key outside its slot fails them here. scripts/test.sh runs this suite after the main one.
 */
export default defineConfig({
  test: {
    include: [
      'test/cluster/**/*.test.ts',
      'test/crawl-pipeline.test.ts',
      'test/rate-limits.test.ts',
      'test/rate-limiter.test.ts',
      'test/page-overlap.test.ts',
      'test/incremental.test.ts',
      'test/stranded-runs.test.ts',
      'test/keys.test.ts',
    ],
    globalSetup: ['test/support/cluster-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
