import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { webhookDeliveries, webhookMessages, webhooks, type Webhook, type WebhookEvent, type WebhookMessage } from '../db/schema.js';
import { healthAfterAttempt, type RetryPolicy } from './retry.js';
import type { DeliveryAttempt } from './send.js';

export interface NewWebhook {
  url: string;
  events: WebhookEvent[];
  hashtagIds: string[] | null;
  coverageBelow: number;
  secretSealed: string;
}

export async function insertWebhook(db: Db, webhook: NewWebhook): Promise<Webhook> {
  const [row] = await db.insert(webhooks).values(webhook).returning();
  return row!;
}

export async function listWebhooks(db: Db): Promise<Webhook[]> {
  return db.select().from(webhooks).orderBy(asc(webhooks.id));
}

export async function getWebhook(db: Db, id: number): Promise<Webhook | undefined> {
  const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id)).limit(1);
  return row;
}

/** Its messages and delivery log go with it. */
export async function deleteWebhook(db: Db, id: number): Promise<boolean> {
  const deleted = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
  return deleted.length > 0;
}

/** A `ping` for `webhook test`, sent at once by the caller, so it is never handed to the relay. */
export async function insertPing(db: Db, webhookId: number): Promise<WebhookMessage> {
  const [row] = await db
    .insert(webhookMessages)
    .values({ id: sql`'msg_' || replace(gen_random_uuid()::text, '-', '')`, webhookId, type: 'ping', data: { webhookId }, queuedAt: sql`now()` })
    .returning();
  return row!;
}

export async function loadMessage(db: Db, messageId: string): Promise<{ message: WebhookMessage; webhook: Webhook } | undefined> {
  const [row] = await db
    .select({ message: webhookMessages, webhook: webhooks })
    .from(webhookMessages)
    .innerJoin(webhooks, eq(webhooks.id, webhookMessages.webhookId))
    .where(eq(webhookMessages.id, messageId))
    .limit(1);
  return row;
}

/**
 * Moves up to `limit` new messages out of the outbox: `hand` gets their ids while their rows are
 * locked, and they are marked queued only if it succeeds. Relays of several workers skip each
 * other's rows; a relay that dies rolls back and the messages are handed again.
 */
export async function relayMessages(db: Db, limit: number, hand: (messageIds: string[]) => Promise<void>): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: webhookMessages.id })
      .from(webhookMessages)
      .where(isNull(webhookMessages.queuedAt))
      .orderBy(asc(webhookMessages.createdAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => row.id);
    await hand(ids);
    await tx.update(webhookMessages).set({ queuedAt: sql`now()` }).where(inArray(webhookMessages.id, ids));
    return ids.length;
  });
}

export interface RecordedAttempt {
  attempt: number;
  /** The endpoint was disabled by this attempt's failure. */
  disabledNow: boolean;
  /** The message gets no more tries: delivered, given up, or its endpoint disabled. */
  settled: boolean;
}

/**
 * One attempt's record, in one transaction: its webhook_deliveries row, the message's state and
 * the endpoint's health (disabled once it could not take an event for retryForMs; the message is
 * then given up too).
 */
export async function recordAttempt(
  db: Db,
  message: Pick<WebhookMessage, 'id' | 'webhookId' | 'createdAt'>,
  outcome: DeliveryAttempt & { giveUp: boolean },
  now: Date,
  policy: Pick<RetryPolicy, 'retryForMs'>,
): Promise<RecordedAttempt> {
  return db.transaction(async (tx) => {
    // The endpoint's row first: the delivery row's foreign key share-locks it, and two attempts
    // taking that lock before this one would deadlock each other.
    const [before] = await tx.select().from(webhooks).where(eq(webhooks.id, message.webhookId)).for('update');
    const health = before ? healthAfterAttempt(before, { succeeded: outcome.succeeded, eventAt: message.createdAt }, now, policy) : null;
    const disabledNow = health !== null && health.disable && before!.disabledAt === null;
    const gaveUp = !outcome.succeeded && (outcome.giveUp || disabledNow);
    const [updated] = await tx
      .update(webhookMessages)
      .set({
        attempts: sql`${webhookMessages.attempts} + 1`,
        ...(outcome.succeeded ? { deliveredAt: now } : gaveUp ? { gaveUpAt: now } : {}),
      })
      .where(eq(webhookMessages.id, message.id))
      .returning({ attempts: webhookMessages.attempts });
    const attempt = updated?.attempts ?? 1;
    await tx.insert(webhookDeliveries).values({
      messageId: message.id,
      webhookId: message.webhookId,
      attempt,
      status: outcome.succeeded ? 'succeeded' : 'failed',
      responseCode: outcome.responseCode,
      durationMs: outcome.durationMs,
      error: outcome.error,
      attemptedAt: now,
    });
    if (health) {
      await tx
        .update(webhooks)
        .set({
          failingSince: health.failingSince,
          consecutiveFailures: health.consecutiveFailures,
          lastAttemptAt: now,
          lastStatus: outcome.succeeded ? `ok ${outcome.responseCode}` : outcome.error,
          // Only a `webhook test` reaches a disabled endpoint; its success brings the endpoint back.
          ...(outcome.succeeded ? { disabledAt: null, disabledReason: null } : {}),
          ...(disabledNow
            ? {
                disabledAt: now,
                disabledReason: `every delivery failed for ${formatDuration(policy.retryForMs)} since ${health.failingSince!.toISOString()} (last: ${outcome.error}); fix the endpoint, then 'hashtag-archiver webhook test ${message.webhookId}' enables it again`,
              }
            : {}),
        })
        .where(eq(webhooks.id, message.webhookId));
    }
    return { attempt, disabledNow, settled: outcome.succeeded || gaveUp };
  });
}

/** Messages of a disabled endpoint still waiting are given up, so the queue holds no dead work. */
export async function giveUp(db: Db, messageId: string): Promise<void> {
  await db
    .update(webhookMessages)
    .set({ gaveUpAt: sql`now()` })
    .where(and(eq(webhookMessages.id, messageId), isNull(webhookMessages.deliveredAt), isNull(webhookMessages.gaveUpAt)));
}

function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${Number((ms / 3_600_000).toFixed(1))} h`;
  return ms >= 1_000 ? `${Math.round(ms / 1_000)} s` : `${ms} ms`;
}
