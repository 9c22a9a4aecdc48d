import { Queue } from 'bullmq';
import type { RedisConnection } from '../queue/connection.js';

export const WEBHOOKS_QUEUE = 'webhooks';

/** Named so BullMQ calls our own strategy (see delivery-worker.ts). */
export const WEBHOOK_BACKOFF = 'webhook';

/** Only the message's id: the body and the endpoint's sealed secret stay in Postgres, never in Redis. */
export interface DeliveryJobData {
  messageId: string;
}

export type WebhooksQueue = Queue<DeliveryJobData>;

export function createWebhooksQueue(connection: RedisConnection, prefix: string): WebhooksQueue {
  return new Queue<DeliveryJobData>(WEBHOOKS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      // The processor gives up by the event's age (HA_WEBHOOK_RETRY_FOR_MS); this only bounds a runaway.
      attempts: 1_000,
      backoff: { type: WEBHOOK_BACKOFF },
      removeOnComplete: { count: 1_000, age: 24 * 3600 },
      removeOnFail: { count: 10_000, age: 14 * 24 * 3600 },
    },
  });
}

/** The job's id is the message's: relaying a message twice (a relay that died before marking it) adds it once. */
export async function enqueueDeliveries(queue: WebhooksQueue, messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await queue.addBulk(messageIds.map((messageId) => ({ name: 'deliver', data: { messageId }, opts: { jobId: messageId } })));
}
