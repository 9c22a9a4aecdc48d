import { afterAll, afterEach, beforeAll } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { startSimulator, type SimOptions, type SimulatorHandle } from '../../src/sim/server.js';
import { cliEnv } from './cli.js';
import { freshDatabase, freshPrefix, silentLogger, testConfig, type TestDatabase } from './services.js';

export interface CrawlEnvironmentOptions {
  sim?: SimOptions;
  /** Settings of the shared app on top of `testConfig`'s. */
  config?: Partial<Config>;
  /** false: no shared app; the CLI, or apps the tests make with `newApp`, do the work. Default true. */
  app?: boolean;
  appOptions?: AppOptions;
  /** Start a worker in the shared app. Default true. */
  worker?: boolean;
  /** Start the schedules' worker in the shared app. Default false. */
  scheduler?: boolean;
  /** Added to every `cliEnv()`, e.g. an API key for commands that call Crawlora. */
  cli?: Record<string, string>;
}

export interface CrawlEnvironment {
  database: TestDatabase;
  /** The queue prefix of this file: its keys are removed on close. */
  prefix: string;
  sim: SimulatorHandle;
  /** The shared app; throws where `app: false` was asked for. */
  app: App;
  /** An app of its own over the same database, simulator and settings, under `<prefix>-<suffix>` (so still cleared); the caller closes it. */
  newApp(suffix: string, overrides?: Partial<Config>, options?: AppOptions): App;
  /** The variables that point a CLI child at this database, prefix and simulator, then the `cli` option, then `extra`. */
  cliEnv(extra?: Record<string, string>): Record<string, string>;
  /** Closes the app, the simulator, clears the prefix and drops the database, in that order. */
  close(): Promise<void>;
}

/** One place for what every integration file starts: its own database, queue prefix, simulator and (optionally) app with a worker. */
export async function startCrawlEnvironment(options: CrawlEnvironmentOptions = {}): Promise<CrawlEnvironment> {
  // Latest first: what started last is closed first, and a failed start undoes what it had started.
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    let failure: unknown;
    for (const closer of closers.splice(0)) {
      try {
        await closer();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  };
  try {
    const database = await freshDatabase();
    closers.unshift(() => database.drop());
    const prefix = freshPrefix();
    closers.unshift(() => prefix.clear());
    const sim = await startSimulator(options.sim);
    closers.unshift(() => sim.close());
    const configFor = (queuePrefix: string, overrides: Partial<Config> = {}) =>
      testConfig({ databaseUrl: database.url, queuePrefix, baseUrl: sim.baseUrl, ...options.config, ...overrides });
    let app: App | undefined;
    if (options.app !== false) {
      const shared = createApp(configFor(prefix.prefix), silentLogger, options.appOptions);
      closers.unshift(() => shared.close());
      if (options.worker !== false) shared.startWorker();
      if (options.scheduler) shared.startScheduler();
      app = shared;
    }
    return {
      database,
      prefix: prefix.prefix,
      sim,
      get app() {
        if (!app) throw new Error('this file asked for no shared app (app: false); make one with newApp()');
        return app;
      },
      newApp: (suffix, overrides, appOptions) => createApp(configFor(`${prefix.prefix}-${suffix}`, overrides), silentLogger, appOptions),
      cliEnv: (extra = {}) => cliEnv({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }, { ...options.cli, ...extra }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Registers `startCrawlEnvironment` in beforeAll and its close in afterAll, so each file keeps its own database and prefix; read the fields in tests and hooks only. */
export function useCrawlEnvironment(options: CrawlEnvironmentOptions = {}): CrawlEnvironment {
  let started: CrawlEnvironment | undefined;
  beforeAll(async () => {
    started = await startCrawlEnvironment(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = (): CrawlEnvironment => {
    if (!started) throw new Error('the crawl environment is read before its beforeAll ran (or after it failed)');
    return started;
  };
  return {
    get database() {
      return current().database;
    },
    get prefix() {
      return current().prefix;
    },
    get sim() {
      return current().sim;
    },
    get app() {
      return current().app;
    },
    newApp: (suffix, overrides, appOptions) => current().newApp(suffix, overrides, appOptions),
    cliEnv: (extra) => current().cliEnv(extra),
    close: () => current().close(),
  };
}

/** Apps with per-test settings under `<prefix>-<n>` (no queue or limiter state leaks between tests), closed after each test, then `afterClose` runs. */
export function usePerTestApps(environment: CrawlEnvironment, afterClose?: () => void | Promise<void>): (overrides?: Partial<Config>, options?: AppOptions) => App {
  const apps: App[] = [];
  let made = 0;
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await afterClose?.();
  });
  return (overrides = {}, options = {}) => {
    made += 1;
    const app = environment.newApp(String(made), overrides, options);
    apps.push(app);
    return app;
  };
}
