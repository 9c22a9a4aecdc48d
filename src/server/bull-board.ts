import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.js';

export const BULL_BOARD_PATH = '/queues';

/** Bull Board over the pages queue (jobs, job schedulers, retries) at /queues, behind the same auth as the rest. */
export async function bullBoardRoutes(server: FastifyInstance, app: App): Promise<void> {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(app.queue, { description: 'one job per hashtag page' })],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'hashtag-archiver', miscLinks: [{ text: 'Runs', url: '/runs' }] } },
  });
  await server.register(adapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
