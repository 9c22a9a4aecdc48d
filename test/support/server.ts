import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { App, AppOptions } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { getRun } from '../../src/db/runs.js';
import type { CrawlRun } from '../../src/db/schema.js';
import type { PagesQueue } from '../../src/queue/pages-queue.js';
import { DASHBOARD_PARTS, startServer, type RunningServer, type ServerPart } from '../../src/server/server.js';
import type { SimOptions, SimulatorHandle } from '../../src/sim/server.js';
import { startCrawlEnvironment } from './environment.js';

const CLI_BIN = fileURLToPath(new URL('../../bin/hashtag-archiver.js', import.meta.url));

export interface TestServer {
  app: App;
  server: RunningServer;
  sim: SimulatorHandle;
  /** Sends a request to the server; `path` starts with '/'. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  config?: Partial<Config>;
  sim?: SimOptions;
  app?: AppOptions;
  parts?: readonly ServerPart[];
}

/** A real server on 127.0.0.1:0 over a fresh database and queue prefix, with a worker crawling a simulator. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const environment = await startCrawlEnvironment({ sim: { itemsPerHashtag: 90, ...options.sim }, config: options.config, appOptions: options.app });
  const app = environment.app;
  let server: RunningServer;
  try {
    server = await startServer(app, { host: '127.0.0.1', port: 0, parts: options.parts ?? DASHBOARD_PARTS });
  } catch (error) {
    await environment.close();
    throw error;
  }
  return {
    app,
    server,
    sim: environment.sim,
    request: (path, init) => fetch(`${server.url}${path}`, { redirect: 'manual', ...init }),
    async close() {
      await server.close();
      await environment.close();
    },
  };
}

/** Polls Postgres until the run is in `status`; fails the test after `timeoutMs`. */
export async function waitForStatus(app: App, runId: number, status: CrawlRun['status'], timeoutMs = 30_000): Promise<CrawlRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(app.database.db, runId);
    if (run?.status === status) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${run?.status ?? 'missing'}, not ${status}, after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface LongRunningCli {
  pid: number;
  /** Resolves with the first match of `pattern` in stderr; fails after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts a command that runs until signalled (`serve`, `worker`), as a user would. */
export function spawnCli(args: string[], env: Record<string, string>): LongRunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    async waitForStderr(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = stderr.match(pattern);
        if (match) return match;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in stderr (exit ${child.exitCode}): ${stderr}`);
        await sleep(50);
      }
    },
    async stop(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Polls until the queue has no job left to run. A run turns completed inside its last page
 * job, so only then are that job's hooks (metrics, counters) certain to have run.
 */
export async function waitForQueueIdle(queue: PagesQueue, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((count) => count === 0)) return;
    if (Date.now() > deadline) throw new Error(`queue still busy after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await sleep(50);
  }
}
