import type { Command } from 'commander';
import { createApp, type App, type AppOptions } from '../app.js';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { checkServices } from '../health.js';
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

/**
 * Runs `work` with a started app and closes it afterwards, also on SIGINT/SIGTERM: workers
 * first (in-flight pages finish or are released), then queue, pool and Redis.
 */
export async function withApp<T>(config: Config, work: (app: App) => Promise<T>, options: AppOptions = {}): Promise<T> {
  const logger = createLogger(config.logLevel);
  const app = createApp(config, logger, options);
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    void app.close().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await checkServices(app.database.db, app.redis, config);
    return await work(app);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.close();
  }
}

export type { App, Logger };
