import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { DASHBOARD_PARTS, startServer } from '../src/server/server.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';
import { freshDatabase, silentLogger, testConfig, type TestDatabase } from './support/services.js';

const HASHTAG = '7201';
const SIZE = 60;
const ON_REPLICA = 'only on the replica';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: SIZE } });
/**
 * Stands in for a streaming replica: the same crawl archived into a database of its own, then
 * marked, so every answer shows which database it was read from.
 */
let replica: TestDatabase;

beforeAll(async () => {
  await crawlAndWait(t.app, [HASHTAG]);
  replica = await freshDatabase();
  const filler = t.newApp('replica', { databaseUrl: replica.url });
  try {
    filler.startWorker();
    await crawlAndWait(filler, [HASHTAG]);
  } finally {
    await filler.close();
  }
  await replica.database.db.execute(sql`UPDATE videos SET description = ${ON_REPLICA}, play_count = play_count + 1000000`);
  await replica.database.db.execute(sql`UPDATE crawl_runs SET items = 4242`);
});

afterAll(async () => {
  await replica?.drop();
});

describe('DATABASE_REPLICA_URL', () => {
  it('export reads the replica; without it, the primary', async () => {
    const withReplica = await runCli(['export', HASHTAG, '--format', 'csv'], t.cliEnv({ DATABASE_REPLICA_URL: replica.url }));
    expect(withReplica.code).toBe(0);
    const lines = withReplica.stdout.trim().split('\n');
    expect(lines).toHaveLength(SIZE + 1);
    expect(lines.slice(1).every((line) => line.includes(ON_REPLICA))).toBe(true);
    const primaryOnly = await runCli(['export', HASHTAG, '--format', 'csv'], t.cliEnv());
    expect(primaryOnly.stdout).not.toContain(ON_REPLICA);
  });

  it('stats reads the replica', async () => {
    const stats = async (env: Record<string, string>) => JSON.parse((await runCli(['stats', HASHTAG, '--json'], t.cliEnv(env))).stdout) as { totalPlays: number };
    const [fromReplica, fromPrimary] = await Promise.all([stats({ DATABASE_REPLICA_URL: replica.url }), stats({})]);
    expect(fromReplica.totalPlays - fromPrimary.totalPlays).toBe(SIZE * 1_000_000);
  });

  it("the dashboard's and the API's reads come from the replica", async () => {
    const app = createApp(testConfig({ databaseUrl: t.database.url, databaseReplicaUrl: replica.url, queuePrefix: `${t.prefix}-server`, baseUrl: t.sim.baseUrl }), silentLogger);
    const server = await startServer(app, { host: '127.0.0.1', port: 0, parts: DASHBOARD_PARTS });
    try {
      const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as { runs: Array<{ id: number; items: number }> };
      expect(runs.runs.map((run) => run.items)).toEqual([4242]);
      const videos = (await (await fetch(`${server.url}/api/hashtags/${HASHTAG}/videos?limit=500`)).json()) as { items: Array<{ description: string }> };
      expect(videos.items.map((video) => video.description)).toEqual(Array(SIZE).fill(ON_REPLICA));
      expect(await (await fetch(`${server.url}/runs/panel`)).text()).toContain('4,242');
    } finally {
      await server.close();
      await app.close();
    }
  });
});
