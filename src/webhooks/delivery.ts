import { UnrecoverableError, Worker } from 'bullmq';
import type { RedisConnection } from '../queue/connection.js';
import type { Db } from '../db/client.js';
import type { Webhook, WebhookMessage } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { WEBHOOK_BACKOFF, WEBHOOKS_QUEUE, type DeliveryJobData } from './queue.js';
import { retryDelayMs, shouldRetry, type RetryPolicy } from './retry.js';
import { openSecret, SealedSecretError } from './secret.js';
import type { DeliveryAttempt, Sender } from './send.js';
import { giveUp, loadMessage, recordAttempt } from './store.js';

export interface DeliveryDeps {
  db: Db;
  sender: Sender;
  sealKey: () => Promise<string>;
  policy: RetryPolicy;
  logger: Logger;
}

export type DeliveryOutcome = 'delivered' | 'already-done' | 'gone' | 'disabled';

/** An attempt failed and will be tried again after the backoff. */
export class DeliveryFailedError extends Error {
  override name = 'DeliveryFailedError';
}

/**
 * One try of one message. Safe to repeat: a delivered or abandoned message is left alone, so a
 * job relayed twice or taken over after a crash sends again only what was not delivered (with
 * the same webhook-id).
 */
export async function deliverMessage(messageId: string, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const loaded = await loadMessage(deps.db, messageId);
  if (!loaded) return 'gone';
  const { message, webhook } = loaded;
  if (message.deliveredAt !== null || message.gaveUpAt !== null) return 'already-done';
  if (webhook.disabledAt !== null) {
    await giveUp(deps.db, messageId);
    return 'disabled';
  }
  const log = deps.logger.child({ webhookId: webhook.id, messageId, type: message.type });
  const attempt = await attemptOnce(message, webhook, deps);
  const now = new Date();
  const abandon = !attempt.succeeded && (attempt.final || !shouldRetry(now.getTime() - message.createdAt.getTime(), deps.policy));
  const recorded = await recordAttempt(deps.db, message, { ...attempt, giveUp: abandon }, now, deps.policy);
  if (attempt.succeeded) {
    log.debug({ attempt: recorded.attempt, responseCode: attempt.responseCode, durationMs: attempt.durationMs }, 'webhook delivered');
    return 'delivered';
  }
  log.warn({ attempt: recorded.attempt, responseCode: attempt.responseCode, error: attempt.error, givingUp: recorded.settled }, 'webhook delivery failed');
  if (recorded.disabledNow) log.error({ error: attempt.error }, 'webhook endpoint disabled: it could not take an event for the whole retry period');
  if (recorded.settled) throw new UnrecoverableError(`webhook ${webhook.id}: ${attempt.error}; giving up on ${messageId}`);
  throw new DeliveryFailedError(`webhook ${webhook.id}: ${attempt.error}`);
}

/** `webhook test`: a `ping` sent now, recorded like any attempt, never retried. */
export async function sendNow(message: WebhookMessage, webhook: Webhook, deps: DeliveryDeps): Promise<DeliveryAttempt> {
  const attempt = await attemptOnce(message, webhook, deps);
  await recordAttempt(deps.db, message, { ...attempt, giveUp: !attempt.succeeded }, new Date(), deps.policy);
  return attempt;
}

/** `final`: a secret that cannot be opened will not open on a retry either. */
async function attemptOnce(message: WebhookMessage, webhook: Webhook, deps: DeliveryDeps): Promise<DeliveryAttempt & { final: boolean }> {
  let secret: string;
  try {
    secret = openSecret(webhook.secretSealed, await deps.sealKey());
  } catch (err) {
    if (!(err instanceof SealedSecretError)) throw err;
    return { succeeded: false, responseCode: null, durationMs: 0, error: err.message, final: true };
  }
  return { ...(await deps.sender.send(webhook.url, secret, message)), final: false };
}

export type DeliveryWorker = Worker<DeliveryJobData, DeliveryOutcome>;

/** Deliveries wait on remote endpoints, not on us: a handful at once per process keeps one slow receiver from holding up the rest. */
const DELIVERY_CONCURRENCY = 8;

/** `jobLockMs`: a delivery whose worker died is taken over after about 1.5 × this (HA_JOB_LOCK_MS, as for pages). */
export function createDeliveryWorker(connection: RedisConnection, options: { prefix: string; jobLockMs: number }, deps: DeliveryDeps): DeliveryWorker {
  const worker = new Worker<DeliveryJobData, DeliveryOutcome>(WEBHOOKS_QUEUE, (job) => deliverMessage(job.data.messageId, deps), {
    connection,
    prefix: options.prefix,
    concurrency: DELIVERY_CONCURRENCY,
    autorun: false,
    lockDuration: options.jobLockMs,
    stalledInterval: Math.max(1_000, Math.floor(options.jobLockMs / 2)),
    settings: {
      backoffStrategy: (attemptsMade, type) => (type === WEBHOOK_BACKOFF ? retryDelayMs(attemptsMade, deps.policy) : 0),
    },
  });
  worker.on('failed', (job, err) => {
    // Failed deliveries were logged with their answer; anything else (Postgres away) is logged here.
    if (job && !(err instanceof DeliveryFailedError) && !(err instanceof UnrecoverableError)) {
      deps.logger.warn({ messageId: job.data.messageId, err: { message: err.message } }, 'webhook delivery job failed; retrying');
    }
  });
  worker.on('error', (err) => deps.logger.error({ err: { message: err.message } }, 'webhook worker error'));
  return worker;
}
