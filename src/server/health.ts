import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.js';

/** A probe that hangs is as bad as one that fails: the app's Redis client waits through outages by design. */
const PROBE_TIMEOUT_MS = 2_000;

type ServiceState = 'up' | 'down';

/** /healthz: the process answers (always 200). /readyz: 200 only while Postgres and Redis both answer, else 503 naming the one down. */
export function healthRoutes(server: FastifyInstance, app: App): void {
  server.get('/healthz', async () => ({ status: 'ok' }));

  server.get('/readyz', async (_request, reply) => {
    const [postgres, redis] = await Promise.all([probe(app.database.db.execute(sql`select 1`)), probe(app.redis.ping())]);
    if (postgres === 'up' && redis === 'up') return { status: 'ready', postgres, redis };
    const down = [postgres === 'down' && 'Postgres', redis === 'down' && 'Redis'].filter(Boolean).join(' and ');
    return reply.code(503).send({ error: `${down} not answering`, postgres, redis });
  });
}

async function probe(work: Promise<unknown>): Promise<ServiceState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([work, timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
