import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVICES } from './services.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/pgbouncer.sh', import.meta.url));

export interface PgBouncer {
  /** The URL of `database` through the pooler. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** A free loopback port: the pooler of each test file gets its own. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Debian's PgBouncer in transaction mode in front of the services' Postgres, started by the project's own script. */
export async function startPgBouncer(): Promise<PgBouncer> {
  const port = await freePort();
  const env = { ...process.env, HA_PGBOUNCER_PORT: String(port), HA_PG_PORT: new URL(SERVICES.databaseUrl).port };
  await promisify(execFile)('bash', [SCRIPT, 'up'], { env });
  return {
    urlFor(database) {
      const url = new URL(SERVICES.databaseUrl);
      url.port = String(port);
      url.pathname = `/${database}`;
      return url.toString();
    },
    async stop() {
      await promisify(execFile)('bash', [SCRIPT, 'down'], { env });
    },
  };
}
