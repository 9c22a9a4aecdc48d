import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookMessages } from '../src/db/schema.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { addWebhook } from '../src/webhooks/admin.js';
import { useCrawlEnvironment } from './support/environment.js';
import { pollRun } from './support/runs.js';
import { startReceiver, verified, type WebhookReceiver } from './support/webhook-receiver.js';

const BIN = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 90 }, worker: false });
let receiver: WebhookReceiver;
const workers: ChildProcess[] = [];
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  for (const worker of workers.splice(0)) {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
    }
  }
  await receiver.close();
  await t.database.database.db.execute(sql`TRUNCATE webhooks, crawl_runs CASCADE`);
});

/** A real `hashtag-archiver worker` process on this file's database, prefix and simulator. */
function startWorker(env: Record<string, string>): ChildProcess {
  const worker = spawn(process.execPath, [BIN, 'worker'], {
    env: {
      ...process.env,
      ...t.cliEnv({ CRAWLORA_API_KEY: 'kill-key', CRAWLORA_PLAN: 'enterprise', CRAWLORA_RATE_PER_MIN: '100000', HA_JOB_LOCK_MS: '1000', LOG_LEVEL: 'error' }),
      HA_WEBHOOK_BACKOFF_BASE_MS: '50',
      HA_WEBHOOK_RELAY_EVERY_MS: '50',
      ...env,
    },
    stdio: 'ignore',
  });
  workers.push(worker);
  return worker;
}

async function kill(worker: ChildProcess): Promise<void> {
  worker.kill('SIGKILL');
  await once(worker, 'exit');
}

async function completedRunWithWebhook(relayEveryMs: string) {
  const { secret } = await addWebhook(t.app.webhooks, { url: receiver.url, events: ['run.completed'], hashtagIds: null, coverageBelow: 0.5 });
  const worker = startWorker({ HA_WEBHOOK_RELAY_EVERY_MS: relayEveryMs });
  const [run] = await startCrawl(t.app.database.db, t.app.queue, { hashtagIds: ['6001'], maxPages: null, maxItems: null });
  const completed = await pollRun(t.app.database.db, run!.id, (r) => r.status === 'completed', 30_000);
  expect(completed?.status).toBe('completed');
  return { secret, worker, run: completed! };
}

describe('webhooks survive a worker killed with SIGKILL', () => {
  it('between the commit that completes the run and the relay: the next worker delivers the event, once', async () => {
    // This worker relays only when it starts, so the run's event stays in the outbox until it dies.
    const { secret, worker, run } = await completedRunWithWebhook('3600000');
    const [waiting] = await t.app.database.db.select().from(webhookMessages).where(eq(webhookMessages.runId, run.id));
    expect(waiting).toMatchObject({ type: 'run.completed', queuedAt: null, deliveredAt: null });
    await kill(worker);
    expect(receiver.received).toHaveLength(0);

    startWorker({});
    const [delivered] = await receiver.waitFor(1, 30_000);
    expect(delivered!.headers['webhook-id']).toBe(waiting!.id);
    expect(verified(secret, delivered!)).toMatchObject({ type: 'run.completed', data: { runId: run.id, status: 'completed', pages: 3, items: 90 } });
    await pollDelivered(waiting!.id);
    await sleep(300);
    expect(receiver.received).toHaveLength(1);
  });

  it('while its delivery is in flight: another worker takes the job over and delivers with the same webhook-id', async () => {
    receiver.answerWith((n) => (n === 1 ? 'hang' : 204));
    const { secret, worker, run } = await completedRunWithWebhook('50');
    const [first] = await receiver.waitFor(1, 30_000);
    await kill(worker);

    startWorker({});
    const [, second] = await receiver.waitFor(2, 30_000);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(verified(secret, second!)).toMatchObject({ type: 'run.completed', data: { runId: run.id } });
    await pollDelivered(String(first!.headers['webhook-id']));
  });
});

async function pollDelivered(messageId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [message] = await t.app.database.db.select().from(webhookMessages).where(eq(webhookMessages.id, messageId));
    if (message?.deliveredAt) return;
    if (Date.now() > deadline) throw new Error(`message ${messageId} not delivered: ${JSON.stringify(message)}`);
    await sleep(50);
  }
}
