import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

/**
 * vitest's global setup of the cluster suite: starts scripts/redis-cluster.sh's cluster (the
 * standalone services are already up) and points the test files' REDIS_URL at one of its nodes.
 * The files are forked after this runs, so they inherit the variables.
 */
export default async function setup(): Promise<void> {
  const run = (command: string) => promisify(execFile)('bash', [SCRIPT, command], { env: process.env });
  await run('up');
  process.env.HA_TEST_STANDALONE_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:63790';
  process.env.REDIS_URL = (await run('url')).stdout.trim();
  process.env.HA_TEST_REDIS_CLUSTER = '1';
}
