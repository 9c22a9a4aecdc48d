import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { App } from '../app.js';
import { parseHashtagRef } from '../crawlora/hashtag-ref.js';
import { cachedHashtagIds } from '../hashtags/lookup.js';
import { hashtagCoverage } from '../db/coverage.js';
import { requireArchived } from '../db/hashtag-stats.js';
import { RUN_STATUSES } from '../db/schema.js';
import { getLiveUsage } from '../db/usage.js';
import { readKeyRates } from '../queue/key-rates.js';
import { readActivity } from '../queue/activity.js';
import { cancel, pause, resume } from '../queue/run-control.js';
import { hashtagVideosPage } from './hashtag-videos.js';
import { parseParams, wholeNumber } from './params.js';
import { latestRuns, runView } from './runs-view.js';
import { projectMonth } from './usage-projection.js';
import { webhookRoutes } from './webhooks-api.js';

const runsQuery = z.object({
  limit: wholeNumber(1, 500).optional(),
  status: z.enum(RUN_STATUSES, { error: `must be one of ${RUN_STATUSES.join(', ')}` }).optional(),
});
const runParams = z.object({ id: wholeNumber(1, 2 ** 31 - 1) });
const videosParams = z.object({ id: z.string().min(1).max(120, { error: 'must be a hashtag id (e.g. 3242) or a resolved name (e.g. christmas)' }) });
const videosQuery = z.object({
  limit: wholeNumber(1, 500).optional(),
  after: z.string({ error: 'must be the nextAfter of a previous page' }).min(1).max(100, { error: 'must be the nextAfter of a previous page' }).optional(),
});
const activityQuery = z.object({ minutes: wholeNumber(1, 120).optional() });

/** The run-control verbs, the same ones the CLI's pause, resume and cancel use. */
const RUN_ACTIONS: Record<string, (app: App, runId: number) => Promise<unknown>> = {
  pause: (app, runId) => pause(app.database.db, runId),
  resume: (app, runId) => resume(app.database.db, app.queue, runId),
  cancel: (app, runId) => cancel(app.database.db, runId),
};

/** The JSON API under /api; bad parameters become 400s and run-state conflicts 404/409s in the server's error handler. */
export function apiRoutes(server: FastifyInstance, app: App): void {
  // GETs may read a replica; an action's answer comes from the primary, which it just wrote.
  const db = app.database.reads;

  server.get('/api/runs', async (request) => {
    const query = parseParams(runsQuery, request.query);
    return { runs: await latestRuns(db, { limit: query.limit ?? 50, status: query.status }) };
  });

  server.get('/api/runs/:id', async (request, reply) => {
    const { id } = parseParams(runParams, request.params);
    const run = await runView(db, id);
    return run ? { run } : reply.code(404).send({ error: `run ${id} does not exist` });
  });

  for (const [action, act] of Object.entries(RUN_ACTIONS)) {
    server.post(`/api/runs/:id/${action}`, async (request) => {
      const { id } = parseParams(runParams, request.params);
      await act(app, id);
      return { run: await runView(app.database.db, id) };
    });
  }

  server.get('/api/hashtags/:id/videos', async (request) => {
    const { id } = parseParams(videosParams, request.params);
    const query = parseParams(videosQuery, request.query);
    // Names come from the cache only: reading the archive never spends credits.
    const [hashtagId] = (await cachedHashtagIds(db, [parseHashtagRef(id)])) as [string];
    return hashtagVideosPage(db, hashtagId, { limit: query.limit ?? 100, after: query.after });
  });

  server.get('/api/hashtags/:id/coverage', async (request) => {
    const { id } = parseParams(videosParams, request.params);
    const [hashtagId] = (await cachedHashtagIds(db, [parseHashtagRef(id)])) as [string];
    await requireArchived(db, [hashtagId]);
    return { hashtagId, coverage: await hashtagCoverage(db, hashtagId) };
  });

  server.get('/api/usage', async () => {
    const [report, keyRates] = await Promise.all([getLiveUsage(db, app.settings), readKeyRates(app.redis, app.config.queuePrefix, app.config.apiKeys, (await app.settings.refresh()).ratePerMin)]);
    return { ...report, projected: projectMonth(report), keyRates };
  });

  server.get('/api/activity', async (request) => {
    const query = parseParams(activityQuery, request.query);
    return readActivity(app.redis, app.config.queuePrefix, query.minutes ?? 60);
  });

  webhookRoutes(server, app);
}
