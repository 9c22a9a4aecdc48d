import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // These restart the shared Redis and Postgres: scripts/test.sh runs them alone afterwards.
    exclude: ['test/disruptive/**', 'node_modules/**'],
    // Each file gets its own database and queue prefix, so files run in parallel safely.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
