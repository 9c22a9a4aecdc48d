import { defineConfig } from 'drizzle-kit';

// Only `drizzle-kit generate` uses this file: it diffs src/db/schema.ts against migrations/.
// Applying migrations is the job of `hashtag-archiver migrate`, so no credentials live here.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  // video_snapshots' monthly partitions are plain tables to drizzle-kit's introspection (pull,
  // push), which would offer to drop them as unknown; they are not part of the schema. (The
  // partitioned parent is invisible to it, so `push` is not a way to migrate: use `migrate`.)
  // pg_partman, where it manages the table, adds a default partition.
  tablesFilter: ['!video_snapshots_p*', '!video_snapshots_default'],
});
