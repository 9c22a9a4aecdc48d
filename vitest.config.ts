import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // These restart the shared Redis and Postgres: scripts/test.sh runs them alone afterwards;
    // test/cluster/ needs a Redis Cluster: it runs in the cluster suite (vitest.cluster.config.ts).
    exclude: ['test/disruptive/**', 'node_modules/**', 'test/cluster/**'],
    // Each file gets its own database and queue prefix, so files run in parallel safely.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
