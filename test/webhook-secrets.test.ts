import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { startServer, DASHBOARD_PARTS, type RunningServer } from '../src/server/server.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';
import { forEachKeyUnder, SERVICES, testConfig } from './support/services.js';
import { startReceiver, verified, type WebhookReceiver } from './support/webhook-receiver.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 60 }, app: false });
let logs = '';
let app: App;
let server: RunningServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString('utf8');
      done();
    },
  });
  const config = testConfig({ databaseUrl: t.database.url, queuePrefix: `${t.prefix}-secrets`, baseUrl: t.sim.baseUrl });
  app = createApp({ ...config, webhooks: { ...config.webhooks, backoffBaseMs: 20, backoffCapMs: 100, relayEveryMs: 50 } }, createLogger('trace', sink));
  app.startWorker();
  server = await startServer(app, { host: '127.0.0.1', port: 0, parts: DASHBOARD_PARTS });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await server?.close();
  await app?.close();
});

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, { ...init, headers: init.body ? { 'content-type': 'application/json' } : {} });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

/** Everything Redis holds under the app's prefix (the jobs, their data and results), as text. */
async function redisContents(): Promise<string> {
  const redis = new Redis(SERVICES.redisUrl);
  const parts: string[] = [];
  try {
    await forEachKeyUnder(redis, app.config.queuePrefix, async (keys) => {
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string' ? await redis.get(key)
          : type === 'hash' ? await redis.hgetall(key)
          : type === 'list' ? await redis.lrange(key, 0, -1)
          : type === 'set' ? await redis.smembers(key)
          : type === 'zset' ? await redis.zrange(key, 0, -1, 'WITHSCORES')
          : type === 'stream' ? await redis.xrange(key, '-', '+')
          : type;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
    });
  } finally {
    redis.disconnect();
  }
  return parts.join('\n');
}

/** Every row of every table, as a dump would hold it. */
async function databaseContents(): Promise<string> {
  const db = app.database.db;
  const tables = await db.execute<{ schema: string; name: string }>(sql`SELECT schemaname AS schema, tablename AS name FROM pg_tables WHERE schemaname IN ('public', 'drizzle')`);
  const parts: string[] = [];
  for (const { schema, name } of tables.rows) {
    const rows = await db.execute<{ row: string }>(sql.raw(`SELECT row_to_json(t)::text AS row FROM "${schema}"."${name}" t`));
    parts.push(...rows.rows.map((row) => `${name} ${row.row}`));
  }
  return parts.join('\n');
}

describe('/api/webhooks, and the signing secret kept out of logs, jobs, rows and the API', () => {
  it('adds, lists, tests and removes endpoints, refusing bad input with 400/404', async () => {
    expect(await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'ftp://127.0.0.1/x' }) })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/only http:\/\/ and https:\/\//) },
    });
    expect(await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'http://169.254.169.254/' }) })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/refused against SSRF/) },
    });
    expect(await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url, events: ['run.exploded'] }) })).toMatchObject({ status: 400 });
    expect(await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ events: [] }) })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^url: /) } });
    const created = await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'http://127.0.0.1:9/gone', events: ['run.failed'], hashtags: ['3242'] }) });
    expect(created).toMatchObject({ status: 201, body: { webhook: { url: 'http://127.0.0.1:9/gone', events: ['run.failed'], hashtagIds: ['3242'] }, secret: expect.stringMatching(/^whsec_/) } });
    const id = created.body.webhook.id as number;
    const listed = await api('/api/webhooks');
    expect(listed.body.webhooks.map((webhook: { id: number }) => webhook.id)).toContain(id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret.slice(6));
    expect(JSON.stringify(listed.body)).not.toMatch(/secret/i);
    const ping = await api(`/api/webhooks/${id}/test`, { method: 'POST' });
    expect(ping).toMatchObject({ status: 200, body: { ping: { succeeded: false, responseCode: null, error: expect.stringMatching(/ECONNREFUSED/) } } });
    expect(await api(`/api/webhooks/${id}`, { method: 'DELETE' })).toEqual({ status: 204, body: null });
    expect(await api(`/api/webhooks/${id}`, { method: 'DELETE' })).toMatchObject({ status: 404, body: { error: `webhook ${id} does not exist; see 'hashtag-archiver webhook list'` } });
    expect(await api('/api/webhooks/0/test', { method: 'POST' })).toMatchObject({ status: 400 });
  });

  it('after deliveries, retries, failures and a ping, no log line, Redis key or table row holds the secret', async () => {
    const created = await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url, events: ['run.completed'] }) });
    const secret = created.body.secret as string;
    receiver.answerWith((n) => (n === 1 ? 500 : 204));
    const [run] = await crawlAndWait(app, ['8001']);
    await receiver.waitFor(2);
    expect(verified(secret, receiver.received[1]!).data.runId).toBe(run!.id);
    expect((await api(`/api/webhooks/${created.body.webhook.id}/test`, { method: 'POST' })).body.ping.succeeded).toBe(true);

    const keyBytes = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const needles = [secret, secret.slice('whsec_'.length), secret.slice('whsec_'.length, 'whsec_'.length + 12), keyBytes.toString('hex'), keyBytes.toString('base64url')];
    const places = { logs, redis: await redisContents(), postgres: await databaseContents(), api: JSON.stringify((await api('/api/webhooks')).body) };
    // The scan reaches what it must: the jobs are in Redis, the sealed secret and the attempts in Postgres, the retry in the log.
    const messageId = String(receiver.received[0]!.headers['webhook-id']);
    expect(places.redis).toContain(messageId);
    expect(places.postgres).toMatch(/webhooks \{.*"secret_sealed":"v1\./);
    expect(places.postgres).toContain(`"message_id":"${messageId}"`);
    expect(places.logs).toContain('webhook delivery failed');
    for (const [place, text] of Object.entries(places)) {
      for (const needle of needles) expect(text.includes(needle), `${place} holds ${needle.slice(0, 10)}…`).toBe(false);
    }
  });
});
