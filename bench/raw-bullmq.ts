import { Worker } from 'bullmq';
import { createRedis } from '../src/queue/connection.js';
import { createPagesQueue, enqueuePage, enqueuePages } from '../src/queue/pages-queue.js';
import type { PageJobData } from '../src/queue/payloads.js';
import { PAGES_QUEUE } from '../src/queue/names.js';
import { benchLogger, SERVICES } from './services.js';

/**
 * The BullMQ ceiling: jobs that do nothing but enqueue their successor, `chains` chains of
 * `jobsPerChain` jobs, on the product's queue (same job ids, attempts, removeOnComplete and
 * Redis connection settings) and a worker with the product's options at `concurrency`.
 */
export async function rawBullmq(prefix: string, chains: number, jobsPerChain: number, concurrency: number): Promise<{ jobs: number; seconds: number }> {
  const redis = createRedis({ redisUrl: SERVICES.redisUrl, redisCluster: false, redisClusterNodes: [], redisSentinels: [], redisSentinelName: null }, benchLogger);
  const queue = createPagesQueue(redis, { prefix, attempts: 8 });
  const total = chains * jobsPerChain;
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker<PageJobData>(
    PAGES_QUEUE,
    async (job) => {
      if (job.data.pageNumber + 1 < jobsPerChain) {
        await enqueuePage(queue, { ...job.data, pageNumber: job.data.pageNumber + 1, cursor: String((job.data.pageNumber + 1) * 30) });
      }
    },
    { connection: redis, prefix, concurrency, autorun: false, stalledInterval: 15_000, maxStalledCount: 20 },
  );
  worker.on('completed', () => {
    if (++done === total) finish();
  });
  try {
    void worker.run();
    await worker.waitUntilReady();
    const started = performance.now();
    await enqueuePages(
      queue,
      Array.from({ length: chains }, (_, runId) => ({ runId: runId + 1, hashtagId: String(runId + 1), pageNumber: 0, cursor: '0', emptyStreak: 0, staleStreak: 0, generation: 1 })),
    );
    await finished;
    return { jobs: total, seconds: (performance.now() - started) / 1000 };
  } finally {
    await worker.close();
    await queue.close();
    redis.disconnect();
  }
}
