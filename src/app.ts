import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './queue/connection.js';
import type { Config } from './config.js';
import { createCoverageLookup } from './coverage/lookup.js';
import { keyFingerprint } from './crawlora/api-key.js';
import { createCrawloraClient } from './crawlora/client.js';
import { openConfiguredDatabase, type Database } from './db/client.js';
import { scheduleSnapshotPartitions } from './db/snapshot-partitions.js';
import { createHashtagResolver, type HashtagResolver } from './hashtags/resolver.js';
import type { Logger } from './logger.js';
import { createRedis } from './queue/connection.js';
import { creditsSince } from './db/ledger.js';
import { BILLED_FOR_MS, scheduleChargeFlush } from './queue/charge-flush.js';
import { createCreditGate } from './queue/credit-gate.js';
import { inFlightTarget, meterPageTime, startInFlightSizer, type InFlightSizer } from './queue/in-flight.js';
import { createKeyPool } from './queue/key-pool.js';
import { createKeyStates, type KeyStates } from './queue/key-states.js';
import { countActivity } from './queue/activity.js';
import type { PipelineObserver } from './queue/observer.js';
import type { PageJobDeps } from './queue/page-job.js';
import { createPagesQueue, type PagesQueue } from './queue/pages-queue.js';
import { createPaidAnswers } from './queue/paid-answers.js';
import { createLiveSettings, type LiveSettings } from './queue/live-settings.js';
import { createRateLimiter } from './queue/rate-limiter.js';
import { createRedisClock } from './queue/redis-clock.js';
import { scheduleReconciler, type Reconciler, type ReconcileTick } from './queue/reconciler.js';
import { createPageWorker, type PageWorker } from './queue/worker.js';
import { createSchedulesQueue, type SchedulesQueue } from './schedules/schedules-queue.js';
import { createScheduleMemory } from './schedules/schedule-memory.js';
import { createScheduleWorker, type ScheduleWorker } from './schedules/worker.js';
import { createWebhookService, type WebhookService } from './webhooks/service.js';

/** Partitions are created two months ahead, so hourly is far more often than needed; it is one cheap query. */
const PARTITION_MAINTENANCE_EVERY_MS = 3_600_000;
/** Connections for page jobs: each holds one only for its run check and commit, so a few serve many. */
const MAX_POOL_FOR_PAGES = 20;

/** Leaves in-flight pages time to finish on SIGTERM, inside the 30 s most supervisors allow. */
const CLOSE_DEADLINE_MS = 20_000;
/** Requests still in flight this long into a close are cut (and counted as possibly billed), so their jobs are put back before the deadline. */
const CUT_REQUESTS_AFTER_MS = 15_000;

/**
 * The long-lived parts of a process, created from the config and closed in reverse order.
 * Nothing connects until first used; `close()` may be called any number of times.
 */
export interface App {
  config: Config;
  logger: Logger;
  database: Database;
  redis: RedisConnection;
  queue: PagesQueue;
  settings: LiveSettings;
  /** Which API keys Crawlora refused, for `hashtag-archiver keys`. */
  keyStates: KeyStates;
  /** Hashtag names to ids, paced and billed like the page jobs, cached in Postgres. */
  hashtags: HashtagResolver;
  /** Starts a worker in this process, with at most `concurrency` pages in flight (sized as it goes, see in-flight.ts); it is closed with the app. */
  startWorker(concurrency?: number): PageWorker;
  /** Pages this process's workers keep in flight now (0 without a worker). */
  inFlightTarget(): number;
  /** Schedules' firings: one job scheduler per scheduled hashtag (see schedules/). */
  schedules: SchedulesQueue;
  /** Starts the worker that turns due schedules into runs; it is closed with the app. */
  startScheduler(): ScheduleWorker;
  /** Webhooks: every started worker also relays their events and delivers them. */
  webhooks: WebhookService;
  close(): Promise<void>;
}

export interface AppOptions {
  observer?: PipelineObserver;
  /** Only tests move time, to cross a UTC midnight for the daily credit cap (the credit counters otherwise go by Redis's clock). */
  clock?: () => Date;
  /** Told of every reconcile this process runs (tests count them). */
  onReconcile?: (tick: ReconcileTick) => void;
}

export function createApp(config: Config, logger: Logger, options: AppOptions = {}): App {
  // A page holds a connection only for its run check and its commit, so many pages in flight share a few.
  const database = openConfiguredDatabase(config, logger.child({ component: 'db' }), Math.min(config.concurrency, MAX_POOL_FOR_PAGES) + 4);
  const redis = createRedis(config, logger.child({ component: 'redis' }));
  const queue = createPagesQueue(redis, { prefix: config.queuePrefix, attempts: config.attempts });
  const settings = createLiveSettings(redis, config.queuePrefix, config);
  const limiter = createRateLimiter(redis, config.queuePrefix, () => ({ ratePerMin: settings.current().ratePerMin, windowMs: config.rateWindowMs }));
  // Every worker counts pages and upstream answers per minute in Redis, for the dashboard's chart,
  // and measures the time a page takes, to size its pages in flight.
  const pageTime = meterPageTime(countActivity(redis, config.queuePrefix, logger.child({ component: 'activity' }), options.observer));
  const poolRatePerMin = async () => (await Promise.all(config.apiKeys.map((key) => limiter.effectiveRate(keyFingerprint(key))))).reduce((sum, rate) => sum + rate, 0);
  const sizers: InFlightSizer[] = [];
  const keyStates = createKeyStates(redis, config.queuePrefix, config.keyProbeEveryMs);
  const clock = options.clock ?? (() => new Date());
  const creditClock = options.clock ? async () => clock() : createRedisClock(redis);
  const schedules = createSchedulesQueue(redis, config.queuePrefix);
  const webhooks = createWebhookService(redis, database.db, { prefix: config.queuePrefix, jobLockMs: config.jobLockMs }, config.webhooks, logger.child({ component: 'webhooks' }));
  const workers: Array<PageWorker | ScheduleWorker> = [];
  let reconciler: Reconciler | undefined;
  let stopChargeFlush: (() => void) | undefined;
  const shutdown = new AbortController();
  // A request and its commit: a claim or in-flight charge older than this outlived any live worker's page.
  const pageLifeMs = config.requestTimeoutMs + config.jobLockMs;
  const answers = createPaidAnswers(redis, config.queuePrefix, { claimTtlMs: pageLifeMs });
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let stopPartitions: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const deps: PageJobDeps = {
    db: database.db,
    queue,
    client: createCrawloraClient({ baseUrl: config.baseUrl, timeoutMs: config.requestTimeoutMs, maxBodyBytes: config.maxBodyBytes }),
    limiter,
    credits: createCreditGate(redis, config.queuePrefix, (fingerprint, since) => creditsSince(database.db, fingerprint, since), creditClock),
    answers,
    workerId,
    shutdown: shutdown.signal,
    keys: createKeyPool(config.apiKeys, keyStates, limiter),
    logger: logger.child({ component: 'page-job' }),
    // Every worker counts pages and upstream answers per minute in Redis, for the dashboard's chart.
    observer: pageTime.observer,
    settings: () => {
      const plan = settings.current();
      return {
        ratePerMin: plan.ratePerMin,
        dailyCredits: plan.dailyCredits,
        monthlyCredits: plan.monthlyCreditCap,
        attempts: config.attempts,
        chargedRetries: config.chargedRetries,
        maxEmptyPages: config.maxEmptyPages,
        stalePagesLimit: config.stalePagesLimit,
        inlineWaitMaxMs: 2_000,
      };
    },
  };

  const hashtags = createHashtagResolver({
    ...deps,
    logger: logger.child({ component: 'hashtags' }),
    settings: () => ({ ...deps.settings(), backoffCapMs: config.backoffCapMs }),
  });
  if (config.coverageLookups) {
    deps.coverage = createCoverageLookup({ db: database.db, redis, prefix: config.queuePrefix, resolver: hashtags, clock, logger: logger.child({ component: 'coverage' }) });
  }

  return {
    config,
    logger,
    database,
    redis,
    queue,
    settings,
    keyStates,
    hashtags,
    startWorker(concurrency = config.concurrency) {
      settings.start();
      reconciler ??= scheduleReconciler(
        redis,
        config.queuePrefix,
        database.db,
        queue,
        { everyMs: config.reconcileEveryMs, schedules: createScheduleMemory(schedules), ...(options.onReconcile ? { onTick: options.onReconcile } : {}) },
        logger.child({ component: 'reconciler' }),
      );
      const afterLoss = reconciler;
      stopChargeFlush ??= scheduleChargeFlush(database.db, answers, config.reconcileEveryMs, { billedForMs: BILLED_FOR_MS, inFlightForMs: pageLifeMs }, logger.child({ component: 'charges' }));
      // Workers are what writes snapshots, so they keep the months ahead ready (and drop expired ones).
      stopPartitions ??= scheduleSnapshotPartitions(database.db, config.snapshotRetentionMonths, PARTITION_MAINTENANCE_EVERY_MS, logger.child({ component: 'partitions' }));
      const first = inFlightTarget({ ratePerMin: settings.current().ratePerMin * config.apiKeys.length, pageMs: pageTime.meanPageMs(), workers: 1, maxInFlight: concurrency });
      const worker = createPageWorker(redis, deps, {
        prefix: config.queuePrefix,
        concurrency: first,
        backoffCapMs: config.backoffCapMs,
        jobLockMs: config.jobLockMs,
      });
      workers.push(worker);
      sizers.push(
        startInFlightSizer({
          redis,
          keyPrefix: config.queuePrefix,
          // The first worker's beat is also what keeps this process's claims alive; a second
          // worker in the same process counts as one more in the live set.
          workerId: sizers.length === 0 ? workerId : `${workerId}:${sizers.length}`,
          meter: pageTime,
          poolRatePerMin,
          maxInFlight: concurrency,
          apply: (inFlight) => {
            worker.concurrency = inFlight;
          },
          logger: logger.child({ component: 'in-flight' }),
          // Missing from the live set: most likely Redis lost its data. The claims on pages in
          // flight and the held answers go back first, then the reconcile notices the loss now
          // rather than at its interval.
          onRejoin: () => {
            void answers
              .rewriteAfterLoss()
              .then((kept) => logger.warn(kept, 'this worker was missing from the live set (Redis lost its data?); its claims on pages in flight and its held answers are written again'))
              .catch((err: unknown) => logger.warn({ err }, 'claims and held answers not written again'))
              .finally(() => afterLoss.now());
          },
        }),
      );
      // Jobs start once the HTTP client is warm, so the first paced request leaves as fast as the rest.
      void deps.client
        .warm()
        .catch((err: unknown) => logger.warn({ err }, 'HTTP client not warmed; the first request may reach upstream a little late'))
        .then(() => (closing ? undefined : worker.run()))
        .catch((err: unknown) => logger.error({ err }, 'worker stopped on an error'));
      webhooks.start();
      return worker;
    },
    inFlightTarget: () => sizers.reduce((sum, sizer) => sum + sizer.current(), 0),
    schedules,
    webhooks,
    startScheduler() {
      const worker = createScheduleWorker(redis, { db: database.db, pages: queue, schedules, logger: logger.child({ component: 'scheduler' }) }, { prefix: config.queuePrefix });
      workers.push(worker);
      worker.run().catch((err: unknown) => logger.error({ err }, 'scheduler stopped on an error'));
      return worker;
    },
    close() {
      // Workers first (they finish or release their jobs), then what they were using.
      closing ??= (async () => {
        settings.close();
        for (const sizer of sizers) sizer.close();
        reconciler?.stop();
        stopChargeFlush?.();
        stopPartitions?.();
        // Closing politely needs a live Redis; against a dead one it would wait forever, so the
        // polite part gets a deadline and the connection is cut after it.
        if (redis.status === 'ready') {
          const polite = (async () => {
            await Promise.all([...workers.map((worker) => worker.close()), webhooks.close()]);
            await Promise.all([queue.close(), schedules.close()]);
          })();
          const cut = setTimeout(() => shutdown.abort(), CUT_REQUESTS_AFTER_MS);
          await Promise.race([polite, sleep(CLOSE_DEADLINE_MS)]);
          clearTimeout(cut);
        }
        await database.close();
        redis.disconnect();
      })();
      return closing;
    },
  };
}
