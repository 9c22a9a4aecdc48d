import { setTimeout as sleep } from 'node:timers/promises';
import { asc, eq, isNull, and, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { createRuns, pauseRun } from '../src/db/runs.js';
import { hashtags, webhookDeliveries, webhookMessages, type WebhookEvent } from '../src/db/schema.js';
import { addWebhook, testWebhook, webhookViews } from '../src/webhooks/admin.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { crawlAndWait, pollRun } from './support/runs.js';
import { testConfig } from './support/services.js';
import { startReceiver, verified, type WebhookReceiver } from './support/webhook-receiver.js';

/** Retries within milliseconds, so a test sees three tries without waiting for the real schedule. */
const FAST_WEBHOOKS: Config['webhooks'] = { ...testConfig({ databaseUrl: '', queuePrefix: '', baseUrl: '' }).webhooks, backoffBaseMs: 20, backoffCapMs: 100, relayEveryMs: 50 };

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 150 }, worker: false, app: false });
const newApp = usePerTestApps(t);

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startReceiver();
  t.sim.reset();
});
afterEach(async () => {
  await receiver.close();
  await t.database.database.db.execute(sql`TRUNCATE webhooks, crawl_runs, hashtags CASCADE`);
});

function workerApp(webhooks: Partial<Config['webhooks']> = {}): App {
  const app = newApp({ webhooks: { ...FAST_WEBHOOKS, ...webhooks } });
  app.startWorker();
  return app;
}

async function subscribe(app: App, events: WebhookEvent[], hashtagIds: string[] | null = null, url = receiver.url) {
  return addWebhook(app.webhooks, { url, events, hashtagIds, coverageBelow: 0.5 });
}

/** Waits until no message is waiting for delivery or a retry; returns them all, oldest first. */
async function settledMessages(app: App, timeoutMs = 20_000) {
  const db = app.database.db;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await db.select().from(webhookMessages).where(and(isNull(webhookMessages.deliveredAt), isNull(webhookMessages.gaveUpAt)));
    if (open.length === 0) return db.select().from(webhookMessages).orderBy(asc(webhookMessages.createdAt));
    if (Date.now() > deadline) throw new Error(`${open.length} webhook messages still open after ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('webhooks on real Redis, Postgres and a receiver on loopback', () => {
  it('announces each completed run exactly once, signed as Standard Webhooks, with the run as it ended', async () => {
    const app = workerApp();
    const all = await subscribe(app, ['run.completed']);
    const onlyOne = await subscribe(app, ['run.completed'], ['5002']);
    const secrets = new Map([
      [all.webhook.id, all.secret],
      [onlyOne.webhook.id, onlyOne.secret],
    ]);
    const runs = await crawlAndWait(app, ['5001', '5002', '5003']);
    const messages = await settledMessages(app);
    // Anything sent twice would have arrived by now: every message is marked delivered after its send.
    await sleep(200);
    const webhookOf = new Map(messages.map((message) => [message.id, message.webhookId]));
    const bodies = receiver.received.map((webhook) => {
      const id = String(webhook.headers['webhook-id']);
      return { id, webhookId: webhookOf.get(id), ...verified(secrets.get(webhookOf.get(id)!)!, webhook) };
    });
    expect(bodies).toHaveLength(4);
    expect(new Set(bodies.map((body) => body.id)).size).toBe(4);
    for (const run of runs) {
      const announced = bodies.filter((body) => body.data.runId === run.id);
      expect(announced.map((body) => body.webhookId).sort()).toEqual(run.hashtagId === '5002' ? [all.webhook.id, onlyOne.webhook.id] : [all.webhook.id]);
      for (const body of announced) {
        expect(body.type).toBe('run.completed');
        expect(Date.parse(body.timestamp)).not.toBeNaN();
        expect(body.data).toEqual({
          runId: run.id,
          hashtagId: run.hashtagId,
          hashtagName: null,
          status: 'completed',
          pages: 5,
          items: 150,
          newItems: 150,
          credits: 40,
          stopReason: 'end',
        });
      }
    }
  });

  it('an endpoint that answers 500 twice still gets the event, each try with the same webhook-id, each recorded', async () => {
    const app = workerApp();
    const { secret } = await subscribe(app, ['run.completed']);
    receiver.answerWith((n) => (n <= 2 ? 500 : 200));
    const [run] = await crawlAndWait(app, ['5101']);
    const [message] = await settledMessages(app);
    expect(receiver.received.map((webhook) => webhook.answered)).toEqual([500, 500, 200]);
    expect(new Set(receiver.received.map((webhook) => webhook.headers['webhook-id']))).toEqual(new Set([message!.id]));
    for (const webhook of receiver.received) expect(verified(secret, webhook).data.runId).toBe(run!.id);
    const deliveries = await app.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.messageId, message!.id)).orderBy(asc(webhookDeliveries.attempt));
    expect(deliveries.map((d) => [d.attempt, d.status, d.responseCode, d.error])).toEqual([
      [1, 'failed', 500, 'HTTP 500'],
      [2, 'failed', 500, 'HTTP 500'],
      [3, 'succeeded', 200, null],
    ]);
    for (const delivery of deliveries) expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
    expect(message).toMatchObject({ attempts: 3, gaveUpAt: null });
    expect(message!.deliveredAt).not.toBeNull();
  });

  it('a run change that rolls back sends nothing, while the same change committed is announced', async () => {
    const app = workerApp();
    await subscribe(app, ['run.paused']);
    const [rolledBack, committed] = await createRuns(app.database.db, [
      { hashtagId: '5201', maxPages: null, maxItems: null },
      { hashtagId: '5202', maxPages: null, maxItems: null },
    ]);
    const client = await app.database.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE crawl_runs SET status = 'paused', stop_reason = 'user' WHERE id = $1`, [rolledBack!.id]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await pauseRun(app.database.db, committed!.id, 'user')).toBe(true);
    const [webhook] = await receiver.waitFor(1);
    await settledMessages(app);
    await sleep(200);
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(webhook!.body)).toMatchObject({ type: 'run.paused', data: { runId: committed!.id, status: 'paused', stopReason: 'user' } });
    const messages = await app.database.db.select().from(webhookMessages);
    expect(messages.map((message) => message.runId)).toEqual([committed!.id]);
  });

  it('budget.threshold fires once at 80 % of --budget-credits, then run.paused when the budget stops the run', async () => {
    const app = workerApp();
    await subscribe(app, ['budget.threshold', 'run.paused', 'run.completed']);
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['5301'], maxPages: null, maxItems: null, budgetCredits: 32 });
    const paused = await pollRun(app.database.db, run!.id, (r) => r.status === 'paused');
    expect(paused).toMatchObject({ status: 'paused', stopReason: 'budget', credits: 32 });
    await receiver.waitFor(2);
    await settledMessages(app);
    await sleep(200);
    const bodies = receiver.received.map((webhook) => JSON.parse(webhook.body) as { type: string; data: Record<string, unknown> });
    // Deliveries run side by side, so they may arrive in any order; each body carries its event's time.
    bodies.sort((a, b) => a.type.localeCompare(b.type));
    expect(bodies.map((body) => body.type)).toEqual(['budget.threshold', 'run.paused']);
    // Page 3 brought the run from 24 to 32 credits, past 80 % of 32 (25.6).
    expect(bodies[0]!.data).toMatchObject({ runId: run!.id, status: 'running', pages: 4, credits: 32, budgetCredits: 32 });
    expect(bodies[1]!.data).toMatchObject({ runId: run!.id, status: 'paused', stopReason: 'budget', credits: 32 });
  });

  it('a --budget-credits near the integer limit crawls normally: the 80 % test does not overflow', async () => {
    const app = workerApp();
    await subscribe(app, ['budget.threshold']);
    const [run] = await crawlAndWait(app, ['5601'], { budgetCredits: 2_000_000_000 });
    expect(run).toMatchObject({ status: 'completed', pages: 5, credits: 40 });
    expect(await app.database.db.select().from(webhookMessages)).toEqual([]);
  });

  it('coverage.low fires for a completed full crawl that archived less than the endpoint\'s share of the reported count, with the coverage', async () => {
    const app = workerApp();
    await app.database.db.insert(hashtags).values([
      { id: '5401', name: 'lowcov', videoCount: 1_000 },
      { id: '5402', name: 'fullcov', videoCount: 160 },
    ]);
    const { webhook } = await subscribe(app, ['coverage.low']);
    const runs = await crawlAndWait(app, ['5401', '5402', '5403']);
    expect(runs.map((run) => run.status)).toEqual(['completed', 'completed', 'completed']);
    const messages = await settledMessages(app);
    expect(messages.map((message) => [message.webhookId, message.type, message.runId])).toEqual([[webhook.id, 'coverage.low', runs[0]!.id]]);
    const [body] = (await receiver.waitFor(1)).map((received) => JSON.parse(received.body));
    expect(body).toMatchObject({
      type: 'coverage.low',
      data: { runId: runs[0]!.id, hashtagId: '5401', hashtagName: 'lowcov', status: 'completed', items: 150, coverage: { reported: 1_000, archived: 150, ratio: 0.15 } },
    });
  });

  it('gives up an event after the retry period, disables an endpoint that failed all along with a clear reason, and a good ping enables it again', async () => {
    const app = workerApp({ retryForMs: 1_500 });
    const { webhook } = await subscribe(app, ['run.completed']);
    receiver.answerWith(() => 500);
    await crawlAndWait(app, ['5501']);
    const [message] = await settledMessages(app);
    expect(message!.deliveredAt).toBeNull();
    expect(message!.gaveUpAt).not.toBeNull();
    expect(message!.attempts).toBeGreaterThanOrEqual(2);
    expect(receiver.received.length).toBe(message!.attempts);
    const [disabled] = await webhookViews(app.database.db);
    expect(disabled).toMatchObject({ id: webhook.id, consecutiveFailures: message!.attempts, lastStatus: 'HTTP 500' });
    expect(disabled!.disabledAt).not.toBeNull();
    expect(disabled!.disabledReason).toMatch(
      new RegExp(`^every delivery failed for 2 s since .+ \\(last: HTTP 500\\); fix the endpoint, then 'hashtag-archiver webhook test ${webhook.id}' enables it again$`),
    );

    // A disabled endpoint is not sent new events.
    await crawlAndWait(app, ['5502']);
    await sleep(200);
    expect(await app.database.db.select().from(webhookMessages)).toHaveLength(1);

    receiver.answerWith(() => 204);
    expect(await testWebhook(app.webhooks, webhook.id)).toMatchObject({ succeeded: true, responseCode: 204 });
    expect((await webhookViews(app.database.db))[0]).toMatchObject({ disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null, lastStatus: 'ok 204' });
  });
});

