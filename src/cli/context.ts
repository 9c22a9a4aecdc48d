import type { Command } from 'commander';
import { createApp, type App, type AppOptions } from '../app.js';
import { openConfiguredDatabase, type Database } from '../db/client.js';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { checkServices } from '../health.js';
import { detectRedisCluster } from '../queue/connection.js';
import { createLogger, type Logger } from '../logger.js';

/** Global flags, named after the variables they override. */
interface GlobalFlags {
  plan?: string;
  databaseUrl?: string;
  redisUrl?: string;
  baseUrl?: string;
  queuePrefix?: string;
  logLevel?: string;
}

/** Config from the environment and the command's flags, validated once, before any work. */
export function configFrom(command: Command, extra: ConfigOverrides = {}): Config {
  const flags = command.optsWithGlobals<GlobalFlags>();
  return loadConfig(process.env, {
    CRAWLORA_PLAN: flags.plan,
    DATABASE_URL: flags.databaseUrl,
    REDIS_URL: flags.redisUrl,
    CRAWLORA_BASE_URL: flags.baseUrl,
    HA_QUEUE_PREFIX: flags.queuePrefix,
    LOG_LEVEL: flags.logLevel,
    ...extra,
  });
}

/** Commands that talk to Crawlora refuse to start without a key, before touching anything. */
export function requireApiKey(config: Config): Config {
  if (config.apiKeys.length === 0) {
    throw new ConfigError("CRAWLORA_API_KEY is not set; set it to your Crawlora key, or run 'npm run demo' to try the simulator");
  }
  return config;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * A short command's lifecycle: runs `work` against the app and closes it afterwards. On
 * SIGINT/SIGTERM the app closes — workers first (in-flight pages finish or are released), then
 * queue, pools and Redis — and the process exits 130/143.
 */
export async function withApp<T>(config: Config, work: (app: App) => Promise<T>, options: AppOptions = {}): Promise<T> {
  const app = createApp(await detectRedisCluster(config), createLogger(config.logLevel), options);
  return closingOnSignal(app, async () => {
    await checkServices({ db: app.database.db, redis: app.redis }, config);
    return work(app);
  });
}

/** For commands that only read the archive (runs, export, stats, usage…): Postgres alone, no Redis needed. */
export async function withDatabase<T>(config: Config, work: (database: Database) => Promise<T>): Promise<T> {
  const database = openConfiguredDatabase(config, createLogger(config.logLevel).child({ component: 'db' }));
  return closingOnSignal(database, async () => {
    await checkServices({ db: database.db }, config);
    return work(database);
  });
}

async function closingOnSignal<T>(resource: Closable, work: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    void resource.close().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await resource.close();
  }
}

/**
 * A long-running command's lifecycle (`serve`, `worker`): starts the app and what `start`
 * returns, runs until SIGINT/SIGTERM, then closes those in order (a server first, so requests in
 * flight finish against live pools) and then the app (workers, queue, pools).
 */
export async function runUntilSignal(config: Config, start: (app: App) => Promise<Closable[]>, options: AppOptions = {}): Promise<void> {
  const logger = createLogger(config.logLevel);
  const app = createApp(await detectRedisCluster(config), logger, options);
  const started: Closable[] = [];
  try {
    await checkServices({ db: app.database.db, redis: app.redis }, config);
    started.push(...(await start(app)));
    const signal = await nextSignal();
    logger.info({ signal }, 'shutting down');
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
  } finally {
    for (const part of started) await part.close();
    await app.close();
  }
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A TCP port for --port/--metrics-port: 0 (any free one) to 65535. */
export function portNumber(raw: string, flag: string): number {
  const port = Number(raw);
  if (!/^\d{1,5}$/.test(raw.trim()) || port > 65_535) {
    throw new ConfigError(`${flag}: '${raw}' is not a port; give a number from 0 to 65535, e.g. 3000`);
  }
  return port;
}

export type { App, Database, Logger };
