import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, inArray } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawlRuns } from '../src/db/schema.js';
import { createPagesQueue, type PagesQueue } from '../src/queue/pages-queue.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { waitForRuns } from './support/runs.js';
import { SERVICES } from './support/services.js';

/** No worker runs under the shared app's prefix: what the CLI enqueues stays in Redis to be looked at. */
const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 90 }, worker: false, cli: { CRAWLORA_API_KEY: 'bulk-key' } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ha-bulk-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const db = () => t.app.database.db;

async function hashtagFile(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, lines.join('\n'));
  return path;
}

async function runCount(): Promise<number> {
  const [row] = await db().select({ n: count() }).from(crawlRuns);
  return row!.n;
}

/** Page jobs waiting under the app's prefix, prioritized or not. */
async function queuedJobs(queue: PagesQueue = t.app.queue) {
  return queue.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
}

describe('crawl --from-file', () => {
  it('enqueues exactly the listed hashtags, skipping comments and blank lines, with the given priority', async () => {
    const file = await hashtagFile('good.txt', [
      '# hashtags for the winter archive',
      '710001',
      '',
      '   710002   ',
      '710003 # a trailing comment',
      '#',
      '710001',
      '\t',
      '710004',
    ]);
    const result = await runCli(['crawl', '--from-file', file, '--priority', '3'], t.cliEnv());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^queued 4 run\(s\): #\d+ \(hashtag 710001\), #\d+ \(hashtag 710002\), #\d+ \(hashtag 710003\), #\d+ \(hashtag 710004\)\n$/);

    const expected = ['710001', '710002', '710003', '710004'];
    const runs = await db().select().from(crawlRuns).where(inArray(crawlRuns.hashtagId, expected)).orderBy(crawlRuns.id);
    expect(runs.map((run) => [run.hashtagId, run.status, run.trigger])).toEqual(expected.map((id) => [id, 'queued', 'cli']));
    const jobs = (await queuedJobs()).filter((job) => expected.includes(job.data.hashtagId));
    expect(jobs.map((job) => [job.data.hashtagId, job.data.runId, job.data.pageNumber, job.opts.priority]).sort()).toEqual(
      runs.map((run) => [run.hashtagId, run.id, 0, 3]).sort(),
    );
  });

  it('refuses a file with junk lines in one line naming them, exits non-zero and enqueues nothing', async () => {
    const runsBefore = await runCount();
    const jobsBefore = (await queuedJobs()).length;
    const file = await hashtagFile('junk.txt', ['# mostly fine', '720001', 'not a hashtag!', '720002', '', 'two words', '720003', '12-34']);
    const result = await runCli(['crawl', '--from-file', file], t.cliEnv());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `error: ${file}: 3 line(s) are not hashtags (line 3: 'not a hashtag!', line 6: 'two words', line 8: '12-34'); fix them or comment them out with '# '`,
    );
    expect(await runCount()).toBe(runsBefore);
    expect((await queuedJobs()).length).toBe(jobsBefore);
    expect(t.sim.stats().requests).toBe(0);
  });
});

describe('bulk enqueue', () => {
  it('enqueues 10,000 hashtags: 10,000 runs in Postgres and 10,000 waiting page jobs in Redis', async () => {
    const connection = new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: null });
    const queue = createPagesQueue(connection, { prefix: `${t.prefix}-10k`, attempts: 3 });
    try {
      const hashtagIds = Array.from({ length: 10_000 }, (_, i) => String(1_000_000 + i));
      const startedMs = performance.now();
      const runs = await startCrawl(db(), queue, { hashtagIds, maxPages: null, maxItems: null });
      console.log(`startCrawl enqueued ${runs.length} hashtags in ${((performance.now() - startedMs) / 1000).toFixed(2)} s`);

      expect(runs.map((run) => run.hashtagId)).toEqual(hashtagIds);
      const [stored] = await db().select({ n: count() }).from(crawlRuns).where(inArray(crawlRuns.id, runs.map((run) => run.id)));
      expect(stored!.n).toBe(10_000);
      expect(await queue.getWaitingCount()).toBe(10_000);
      const sample = await queue.getWaiting(0, 9);
      for (const job of sample) expect(runs.find((run) => run.id === job.data.runId)?.hashtagId).toBe(job.data.hashtagId);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('--priority 1 puts a later run ahead of earlier runs of priority 5', async () => {
    const slowApp = t.newApp('priority', { concurrency: 1 });
    t.sim.configure({ latencyMs: 100 });
    t.sim.reset();
    try {
      slowApp.startWorker(1);
      const early = Array.from({ length: 20 }, (_, i) => String(730_000 + i));
      const earlyRuns = await startCrawl(slowApp.database.db, slowApp.queue, { hashtagIds: early, maxPages: 1, maxItems: null, priority: 5 });
      // The worker is busy with the early runs before the urgent one arrives.
      while (t.sim.stats().pageRequests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const [urgent] = await startCrawl(slowApp.database.db, slowApp.queue, { hashtagIds: ['739999'], maxPages: 1, maxItems: null, priority: 1 });
      const requestsBefore = t.sim.stats().pageRequests.length;
      await waitForRuns(slowApp.database.db, [...earlyRuns, urgent!].map((run) => run.id));

      const order = t.sim.stats().pageRequests.map((request) => request.hashtagId);
      const urgentAt = order.indexOf('739999');
      // At most one early page was already taken by the worker (concurrency 1) but not yet sent.
      expect(urgentAt).toBeLessThanOrEqual(requestsBefore + 1);
      const earlyAfterUrgent = order.slice(urgentAt + 1).filter((id) => early.includes(id));
      expect(earlyAfterUrgent.length).toBeGreaterThan(0);
      expect(order).toHaveLength(21);
    } finally {
      t.sim.configure({ latencyMs: 0 });
      await slowApp.close();
    }
  });
});
