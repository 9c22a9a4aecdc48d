import type { RedisConnection } from '../queue/connection.js';
import type { WebhookConfig } from '../config.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { createDeliveryWorker, type DeliveryDeps, type DeliveryWorker } from './delivery.js';
import { createWebhooksQueue, type WebhooksQueue } from './queue.js';
import { startRelay, type Relay } from './relay.js';
import { sealKeySource } from './seal-key.js';
import { createSender } from './send.js';

/**
 * Webhooks of one process: the queue, the sender, the key that seals secrets, and — in processes
 * that run workers — the relay and the delivery worker. Nothing connects until used; `close()`
 * may be called any number of times.
 */
export interface WebhookService {
  config: WebhookConfig;
  queue: WebhooksQueue;
  deps: DeliveryDeps;
  /** Starts the relay and a delivery worker here, once; they stop at close(). */
  start(): { relay: Relay; worker: DeliveryWorker };
  close(): Promise<void>;
}

export function createWebhookService(redis: RedisConnection, db: Db, options: { prefix: string; jobLockMs: number }, config: WebhookConfig, logger: Logger): WebhookService {
  const { prefix } = options;
  const queue = createWebhooksQueue(redis, prefix);
  const sender = createSender({ timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivate });
  const deps: DeliveryDeps = { db, sender, sealKey: sealKeySource(redis, prefix, config.secretKey), policy: config, logger };
  let started: { relay: Relay; worker: DeliveryWorker } | undefined;
  let closing: Promise<void> | undefined;
  return {
    config,
    queue,
    deps,
    start() {
      if (started) return started;
      const worker = createDeliveryWorker(redis, options, deps);
      worker.run().catch((err: unknown) => logger.error({ err }, 'webhook worker stopped on an error'));
      started = { relay: startRelay(db, queue, config.relayEveryMs, logger.child({ component: 'webhook-relay' })), worker };
      return started;
    },
    close() {
      closing ??= (async () => {
        started?.relay.stop();
        await started?.worker.close();
        await queue.close();
        await sender.close();
      })();
      return closing;
    },
  };
}
