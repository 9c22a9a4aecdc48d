import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { App } from '../app.js';
import { parseHashtagRef } from '../crawlora/hashtag-ref.js';
import { cachedHashtagIds } from '../hashtags/lookup.js';
import { addWebhook, removeWebhook, testWebhook, webhookViews } from '../webhooks/admin.js';
import { parseCoverageBelow, parseEvents, WEBHOOK_EVENTS } from '../webhooks/events.js';
import { parseParams, wholeNumber } from './params.js';

const webhookParams = z.object({ id: wholeNumber(1, 2 ** 31 - 1) });
const newWebhook = z.object({
  url: z.string({ error: 'must be the endpoint URL, e.g. https://example.com/hooks' }).min(1).max(2_000),
  events: z.array(z.string(), { error: `must be a list of ${WEBHOOK_EVENTS.join(', ')}` }).optional(),
  hashtags: z.array(z.string().min(1).max(120), { error: 'must be a list of hashtag ids or resolved names' }).max(1_000).optional(),
  coverageBelow: z.number({ error: 'must be a ratio above 0 and at most 1' }).optional(),
});

/**
 * `/api/webhooks`: the CLI's webhook verbs. POST answers the signing secret once, as `add` prints
 * it; nothing else ever returns it.
 */
export function webhookRoutes(server: FastifyInstance, app: App): void {
  const db = app.database.db;

  server.get('/api/webhooks', async () => ({ webhooks: await webhookViews(db) }));

  server.post('/api/webhooks', async (request, reply) => {
    const body = parseParams(newWebhook, request.body ?? {});
    const refs = (body.hashtags ?? []).map(parseHashtagRef);
    const created = await addWebhook(app.webhooks, {
      url: body.url,
      events: parseEvents(body.events?.join(',')),
      hashtagIds: refs.length === 0 ? null : await cachedHashtagIds(db, refs),
      coverageBelow: parseCoverageBelow(body.coverageBelow === undefined ? undefined : String(body.coverageBelow)),
    });
    return reply.code(201).send(created);
  });

  server.delete('/api/webhooks/:id', async (request, reply) => {
    const { id } = parseParams(webhookParams, request.params);
    await removeWebhook(db, id);
    return reply.code(204).send();
  });

  server.post('/api/webhooks/:id/test', async (request) => {
    const { id } = parseParams(webhookParams, request.params);
    return { ping: await testWebhook(app.webhooks, id) };
  });
}
