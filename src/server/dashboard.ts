import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.js';
import { getLiveUsage } from '../db/usage.js';
import { readKeyRates } from '../queue/key-rates.js';
import { dashboardPage, panelHtml, type PanelData } from './dashboard-html.js';
import { PAGE_CSP } from './html.js';
import { latestRuns } from './runs-view.js';
import { projectMonth } from './usage-projection.js';

const PANEL_RUNS = 50;

/** The runs page at /runs (and /), the fragment its script refreshes, and the files it loads. */
export async function dashboardRoutes(server: FastifyInstance, app: App): Promise<void> {
  // decorateReply: false, because Bull Board registers @fastify/static again in its own scope.
  await server.register(fastifyStatic, { root: fileURLToPath(new URL('./assets/', import.meta.url)), prefix: '/assets/', decorateReply: false });
  const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  await server.register(fastifyStatic, { root: uplotDist, prefix: '/assets/uplot/', decorateReply: false });

  const panelData = async (): Promise<PanelData> => {
    const [runs, usage, keyRates] = await Promise.all([
      latestRuns(app.database.reads, { limit: PANEL_RUNS }),
      getLiveUsage(app.database.reads, app.settings),
      app.settings.refresh().then(({ ratePerMin }) => readKeyRates(app.redis, app.config.queuePrefix, app.config.apiKeys, ratePerMin)),
    ]);
    return { runs, usage, projected: projectMonth(usage), keyRates };
  };

  server.get('/', async (_request, reply) => reply.redirect('/runs'));
  server.get('/runs', async (_request, reply) =>
    reply.type('text/html').header('content-security-policy', PAGE_CSP).send(dashboardPage(await panelData(), { loggedIn: app.config.dashboardToken !== null })),
  );
  server.get('/runs/panel', async (_request, reply) => reply.type('text/html').send(panelHtml(await panelData()).value));
}
