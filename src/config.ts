import { isPlanName, PLAN_NAMES, PLANS, type PlanName } from './crawlora/plans.js';

/**
 * Everything the program reads from its environment, parsed once at start. Flags given on
 * the command line win over the environment; deeper code only ever sees this object.
 */
export interface Config {
  apiKeys: string[];
  baseUrl: string;
  plan: PlanName;
  ratePerMin: number;
  /** Crawlora's sliding window; only simulations and tests shrink it. */
  rateWindowMs: number;
  /** null: no daily cap on this plan. */
  dailyCredits: number | null;
  /** The plan's included credits when it has no overage (Free): never spent past. Otherwise null. */
  monthlyCreditCap: number | null;
  databaseUrl: string;
  /** A read replica for `export`, `stats` and the dashboard's reads; null: they read the primary. */
  databaseReplicaUrl: string | null;
  /**
   * false: the page transaction's statements are sent unnamed, for poolers in transaction mode
   * that cannot carry prepared statements (PgBouncer before 1.21).
   */
  pgPreparedStatements: boolean;
  /** video_snapshots partitions wholly older than this many months are dropped; null: kept forever. */
  snapshotRetentionMonths: number | null;
  redisUrl: string;
  /** REDIS_URL names a node of a Redis Cluster: set at start by asking it (detectRedisCluster). */
  redisCluster: boolean;
  /**
   * Every node of that cluster as REDIS_URL's node listed them at start (detectRedisCluster): the
   * cluster client's startup nodes, so a client reconnecting from scratch still finds the cluster
   * once that one node is gone. Empty: REDIS_URL's node alone.
   */
  redisClusterNodes: Array<{ host: string; port: number }>;
  /** REDIS_SENTINELS: Redis through Sentinel, which names the master REDIS_SENTINEL_NAME; empty: no Sentinel. */
  redisSentinels: Array<{ host: string; port: number }>;
  redisSentinelName: string | null;
  queuePrefix: string;
  requestTimeoutMs: number;
  /** Crawlora answers larger than this are cut off (a transient failure): the worker's memory stays bounded. */
  maxBodyBytes: number;
  attempts: number;
  backoffCapMs: number;
  /** A crashed worker's page is taken over after at most about 1.5 × this. */
  jobLockMs: number;
  /** How often a worker checks that every live run still has its next page job. */
  reconcileEveryMs: number;
  /** A key Crawlora refused (401/403) is tried again with one request this often. */
  keyProbeEveryMs: number;
  /** How often a 2xx that reports a failure (billed) may be retried before the run fails. */
  chargedRetries: number;
  maxEmptyPages: number;
  /** Incremental runs stop after this many pages in a row without a new video. */
  stalePagesLimit: number;
  /** The most pages a worker keeps in flight; it sizes itself below this (see queue/in-flight.ts). */
  concurrency: number;
  /** HA_COVERAGE: look up the video count of hashtags crawled by id (detail endpoint, 8 credits, once a day at most). */
  coverageLookups: boolean;
  logLevel: string;
  /** Guards the dashboard, API and /metrics; null: no auth, allowed on loopback only. */
  dashboardToken: string | null;
  /** Host names the dashboard answers to besides loopback, IP addresses and its --host (lower case; a leading dot: any subdomain). */
  dashboardAllowedHosts: string[];
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Seals the endpoints' signing secrets; null: a key generated once and kept in Redis (see src/webhooks/secret-key.ts). */
  secretKey: string | null;
  /** Allows endpoints on link-local and cloud-metadata addresses (SSRF guard off). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** First retry delay; each next one doubles, up to backoffCapMs. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** An event is retried this long; an endpoint whose every attempt failed this long is disabled. */
  retryForMs: number;
  /** How often each worker moves new events from Postgres to the queue. */
  relayEveryMs: number;
}

export const DEFAULT_DATABASE_URL = 'postgres://archiver:archiver@127.0.0.1:54329/archiver';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:63790';
export const DEFAULT_BASE_URL = 'https://api.crawlora.net/api/v1';
/**
 * A page is 30 items of ~16 KB (the spec's sample item), ~0.5 MB; items with long captions and
 * many mentions make 1–1.5 MB. 4 MiB leaves a few MB above that, and a worker at concurrency 8
 * holds at most 32 MiB of answers.
 */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Enough for Enterprise (1,000 a minute) at 5 s a request: ~83 busy on average, plus the tail. */
export const DEFAULT_MAX_IN_FLIGHT = 160;

/** A bad setting: the message is one line naming the setting and what to do. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags use the same names as the variables they override, e.g. `--plan` for CRAWLORA_PLAN. */
export type ConfigOverrides = Partial<Record<ConfigSource, string | number | undefined>>;

type ConfigSource =
  | 'CRAWLORA_API_KEY'
  | 'CRAWLORA_BASE_URL'
  | 'CRAWLORA_PLAN'
  | 'CRAWLORA_RATE_PER_MIN'
  | 'CRAWLORA_RATE_WINDOW_MS'
  | 'CRAWLORA_DAILY_CREDITS'
  | 'CRAWLORA_TIMEOUT_MS'
  | 'CRAWLORA_MAX_BODY_BYTES'
  | 'DATABASE_URL'
  | 'DATABASE_REPLICA_URL'
  | 'HA_PG_PREPARED_STATEMENTS'
  | 'HA_SNAPSHOT_RETENTION'
  | 'REDIS_URL'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_NAME'
  | 'HA_QUEUE_PREFIX'
  | 'HA_ATTEMPTS'
  | 'HA_BACKOFF_CAP_MS'
  | 'HA_CHARGED_RETRIES'
  | 'HA_JOB_LOCK_MS'
  | 'HA_RECONCILE_EVERY_MS'
  | 'HA_KEY_PROBE_EVERY_MS'
  | 'HA_MAX_EMPTY_PAGES'
  | 'HA_STALE_PAGES'
  | 'HA_CONCURRENCY'
  | 'HA_COVERAGE'
  | 'LOG_LEVEL'
  | 'DASHBOARD_TOKEN'
  | 'HA_WEBHOOK_SECRET_KEY'
  | 'HA_WEBHOOK_ALLOW_PRIVATE'
  | 'HA_WEBHOOK_TIMEOUT_MS'
  | 'HA_WEBHOOK_BACKOFF_BASE_MS'
  | 'HA_WEBHOOK_BACKOFF_CAP_MS'
  | 'HA_WEBHOOK_RETRY_FOR_MS'
  | 'HA_WEBHOOK_RELAY_EVERY_MS'
  | 'DASHBOARD_ALLOWED_HOSTS';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): Config {
  const read = (name: ConfigSource): string | undefined => {
    const flag = overrides[name];
    if (flag !== undefined) return String(flag);
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const planRaw = (read('CRAWLORA_PLAN') ?? 'free').toLowerCase();
  if (!isPlanName(planRaw)) {
    throw new ConfigError(`CRAWLORA_PLAN: '${planRaw}' is not a Crawlora plan; use one of ${PLAN_NAMES.join(', ')}`);
  }
  const plan = PLANS[planRaw];

  const apiKeys = (read('CRAWLORA_API_KEY') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (apiKeys.some((key) => /\s/.test(key))) {
    throw new ConfigError('CRAWLORA_API_KEY: a key contains white space; separate several keys with commas only');
  }

  const dailyRaw = read('CRAWLORA_DAILY_CREDITS');
  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL: '${logLevel}' is not a pino level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  const queuePrefix = read('HA_QUEUE_PREFIX') ?? '{ha}';
  if (queuePrefix.includes(':')) {
    throw new ConfigError(`HA_QUEUE_PREFIX: '${queuePrefix}' contains ':'; use letters, digits, '-', '_' or a hash tag like {ha}`);
  }

  return {
    apiKeys,
    baseUrl: url(read('CRAWLORA_BASE_URL') ?? DEFAULT_BASE_URL, 'CRAWLORA_BASE_URL', ['http:', 'https:']),
    plan: plan.name,
    ratePerMin: positiveInt(read('CRAWLORA_RATE_PER_MIN'), 'CRAWLORA_RATE_PER_MIN', plan.ratePerMin),
    rateWindowMs: positiveInt(read('CRAWLORA_RATE_WINDOW_MS'), 'CRAWLORA_RATE_WINDOW_MS', 60_000),
    dailyCredits: dailyRaw === undefined ? plan.dailyCredits : positiveInt(dailyRaw, 'CRAWLORA_DAILY_CREDITS', 0),
    monthlyCreditCap: plan.overageUsdPer1000 === null ? plan.includedCredits : null,
    databaseUrl: url(read('DATABASE_URL') ?? DEFAULT_DATABASE_URL, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseReplicaUrl: optional(read('DATABASE_REPLICA_URL'), (raw) => url(raw, 'DATABASE_REPLICA_URL', ['postgres:', 'postgresql:'])),
    pgPreparedStatements: bool(read('HA_PG_PREPARED_STATEMENTS'), 'HA_PG_PREPARED_STATEMENTS', true),
    snapshotRetentionMonths: optional(read('HA_SNAPSHOT_RETENTION'), retentionMonths),
    redisUrl: url(read('REDIS_URL') ?? DEFAULT_REDIS_URL, 'REDIS_URL', ['redis:', 'rediss:']),
    redisCluster: false,
    redisClusterNodes: [],
    ...sentinels(read('REDIS_SENTINELS'), read('REDIS_SENTINEL_NAME')),
    queuePrefix,
    requestTimeoutMs: positiveInt(read('CRAWLORA_TIMEOUT_MS'), 'CRAWLORA_TIMEOUT_MS', 30_000),
    maxBodyBytes: positiveInt(read('CRAWLORA_MAX_BODY_BYTES'), 'CRAWLORA_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
    attempts: positiveInt(read('HA_ATTEMPTS'), 'HA_ATTEMPTS', 8),
    backoffCapMs: positiveInt(read('HA_BACKOFF_CAP_MS'), 'HA_BACKOFF_CAP_MS', 300_000),
    jobLockMs: positiveInt(read('HA_JOB_LOCK_MS'), 'HA_JOB_LOCK_MS', 30_000),
    reconcileEveryMs: positiveInt(read('HA_RECONCILE_EVERY_MS'), 'HA_RECONCILE_EVERY_MS', 60_000),
    keyProbeEveryMs: positiveInt(read('HA_KEY_PROBE_EVERY_MS'), 'HA_KEY_PROBE_EVERY_MS', 600_000),
    chargedRetries: nonNegativeInt(read('HA_CHARGED_RETRIES'), 'HA_CHARGED_RETRIES', 2),
    maxEmptyPages: positiveInt(read('HA_MAX_EMPTY_PAGES'), 'HA_MAX_EMPTY_PAGES', 3),
    stalePagesLimit: positiveInt(read('HA_STALE_PAGES'), 'HA_STALE_PAGES', 3),
    concurrency: positiveInt(read('HA_CONCURRENCY'), 'HA_CONCURRENCY', DEFAULT_MAX_IN_FLIGHT),
    coverageLookups: onOff(read('HA_COVERAGE'), 'HA_COVERAGE', true),
    logLevel,
    dashboardToken: read('DASHBOARD_TOKEN') ?? null,
    dashboardAllowedHosts: hostNames(read('DASHBOARD_ALLOWED_HOSTS'), 'DASHBOARD_ALLOWED_HOSTS'),
    webhooks: {
      secretKey: webhookSecretKey(read('HA_WEBHOOK_SECRET_KEY')),
      allowPrivate: boolean(read('HA_WEBHOOK_ALLOW_PRIVATE'), 'HA_WEBHOOK_ALLOW_PRIVATE', false),
      timeoutMs: positiveInt(read('HA_WEBHOOK_TIMEOUT_MS'), 'HA_WEBHOOK_TIMEOUT_MS', 10_000),
      backoffBaseMs: positiveInt(read('HA_WEBHOOK_BACKOFF_BASE_MS'), 'HA_WEBHOOK_BACKOFF_BASE_MS', 10_000),
      backoffCapMs: positiveInt(read('HA_WEBHOOK_BACKOFF_CAP_MS'), 'HA_WEBHOOK_BACKOFF_CAP_MS', 3_600_000),
      retryForMs: positiveInt(read('HA_WEBHOOK_RETRY_FOR_MS'), 'HA_WEBHOOK_RETRY_FOR_MS', 24 * 3_600_000),
      relayEveryMs: positiveInt(read('HA_WEBHOOK_RELAY_EVERY_MS'), 'HA_WEBHOOK_RELAY_EVERY_MS', 1_000),
    },
  };
}

/** At least 32 characters, so a guessable word cannot seal the secrets; `openssl rand -base64 32` gives 44. */
function webhookSecretKey(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (raw.length < 32) {
    throw new ConfigError(`HA_WEBHOOK_SECRET_KEY: ${raw.length} characters is too short; give at least 32 random ones, e.g. from 'openssl rand -base64 32'`);
  }
  return raw;
}

function boolean(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name}: '${raw}' is not true or false`);
}

/** Comma-separated DNS names, e.g. `dashboard.example.com,.internal.example` (a leading dot: that domain's subdomains). */
function hostNames(raw: string | undefined, name: string): string[] {
  if (raw === undefined) return [];
  const names = raw
    .split(',')
    .map((entry) => entry.trim().toLowerCase().replace(/\.$/, ''))
    .filter((entry) => entry !== '');
  const bad = names.find((entry) => !/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(entry));
  if (bad !== undefined) {
    throw new ConfigError(`${name}: '${bad}' is not a host name; give names without scheme or port, separated by commas, e.g. dashboard.example.com,.internal.example`);
  }
  return names;
}

/** For flags such as --max-pages: a whole number ≥ 1, or a one-line error naming the flag. */
export function positiveInt(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name}: '${raw}' is not a whole number of at least 1; give one such as ${fallback || 1}`);
  }
  return value;
}

function onOff(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ConfigError(`${name}: '${raw}' is neither on nor off; give one of them`);
}

function nonNegativeInt(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  if (raw.trim() === '0') return 0;
  return positiveInt(raw, name, fallback);
}

/** 'host:port,host:port' and the master's name, both or neither. */
function sentinels(list: string | undefined, name: string | undefined): Pick<Config, 'redisSentinels' | 'redisSentinelName'> {
  if (list === undefined && name === undefined) return { redisSentinels: [], redisSentinelName: null };
  if (list === undefined || name === undefined) {
    throw new ConfigError(`${list === undefined ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINELS'} is set without ${list === undefined ? 'REDIS_SENTINELS' : 'REDIS_SENTINEL_NAME'}; set both (e.g. REDIS_SENTINELS=10.0.0.1:26379,10.0.0.2:26379 REDIS_SENTINEL_NAME=mymaster) or neither`);
  }
  const redisSentinels = list.split(',').map((entry) => {
    const match = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(entry);
    if (!match || Number(match[2]) > 65_535) throw new ConfigError(`REDIS_SENTINELS: '${entry.trim()}' is not host:port; give e.g. 10.0.0.1:26379,10.0.0.2:26379`);
    return { host: match[1]!, port: Number(match[2]) };
  });
  return { redisSentinels, redisSentinelName: name };
}

function optional<T>(raw: string | undefined, parse: (raw: string) => T): T | null {
  return raw === undefined ? null : parse(raw);
}

function bool(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}: '${raw}' is not true or false; give one of them`);
}

/** '24 months', '2 years', '1 month': whole months or years. */
function retentionMonths(raw: string): number {
  const match = /^(\d+)\s*(months?|years?)$/i.exec(raw);
  const count = match ? Number(match[1]) : 0;
  if (!match || count < 1 || !Number.isSafeInteger(count)) {
    throw new ConfigError(`HA_SNAPSHOT_RETENTION: '${raw}' is not a number of months or years; give e.g. '24 months' or '2 years'`);
  }
  return match[2]!.toLowerCase().startsWith('year') ? count * 12 : count;
}

function url(raw: string, name: string, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: '${maskUrl(raw)}' is not a URL; give e.g. ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name}: '${maskUrl(raw)}' must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  if (parsed.hostname === '') {
    throw new ConfigError(`${name}: '${maskUrl(raw)}' names no host; give e.g. ${protocols[0]}//127.0.0.1`);
  }
  return raw;
}

/** Connection strings are shown with their password replaced, never in clear. */
export function maskUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
