import cronParser from 'cron-parser';
import { ConfigError } from '../config.js';

/** How often a schedule fires: a fixed interval, or a cron pattern read in UTC. */
export type Cadence = { kind: 'every'; ms: number } | { kind: 'cron'; pattern: string };

/**
 * Anything faster would start crawls of one hashtag back to back and spend credits on pages that
 * barely changed; the firings would mostly be skipped anyway while the previous run goes on.
 */
export const MINIMUM_INTERVAL_MS = 60_000;

/** Every machine reads a pattern the same way, whatever its local time zone. */
export const CRON_TIME_ZONE = 'UTC';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Firings looked at when measuring a pattern's shortest gap: enough to catch '0,1 * * * *'. */
const GAPS_CHECKED = 24;

export interface CadenceFlags {
  every?: string;
  cron?: string;
}

export interface CadenceLimits {
  /** Only tests go below MINIMUM_INTERVAL_MS, to see a schedule fire within seconds. */
  minimumMs?: number;
}

/** Exactly one of --every and --cron, validated; a one-line ConfigError otherwise. */
export function parseCadence(flags: CadenceFlags, { minimumMs = MINIMUM_INTERVAL_MS }: CadenceLimits = {}): Cadence {
  if ((flags.every === undefined) === (flags.cron === undefined)) {
    throw new ConfigError(`give exactly one of --every (e.g. --every 6h) and --cron (e.g. --cron "0 */6 * * *")`);
  }
  return flags.every !== undefined
    ? { kind: 'every', ms: parseEvery(flags.every, minimumMs) }
    : { kind: 'cron', pattern: parseCron(flags.cron!, minimumMs) };
}

function parseEvery(raw: string, minimumMs: number): number {
  const match = /^(\d{1,6})([smhd])$/.exec(raw.trim());
  if (!match) throw new ConfigError(`--every: '${raw}' is not an interval; give a whole number and a unit s, m, h or d, e.g. 30m or 6h`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  if (ms < minimumMs) throw new ConfigError(`--every: '${raw}' is shorter than ${formatInterval(minimumMs)}; give ${formatInterval(minimumMs)} or more`);
  return ms;
}

function parseCron(raw: string, minimumMs: number): string {
  const pattern = raw.trim().replace(/\s+/g, ' ');
  // cron-parser quietly fills in missing fields ('0 */6 * *' would fire every minute of the 1st), so the count is checked first.
  const fields = pattern.split(' ').length;
  if (!pattern.startsWith('@') && (fields < 5 || fields > 6)) {
    throw new ConfigError(`--cron: '${raw}' has ${fields} fields; give 5 (minute hour day-of-month month day-of-week), e.g. "0 */6 * * *"`);
  }
  let times: number[];
  try {
    times = nextCronTimes(pattern, Date.now(), GAPS_CHECKED + 1);
  } catch (err) {
    throw new ConfigError(`--cron: '${raw}' is not a cron pattern (${(err as Error).message}); give e.g. "0 */6 * * *"`);
  }
  const shortestGap = Math.min(...times.slice(1).map((time, index) => time - times[index]!));
  if (shortestGap < minimumMs) {
    throw new ConfigError(`--cron: '${raw}' fires more often than every ${formatInterval(minimumMs)}; space its firings at least that far apart`);
  }
  return pattern;
}

/** The pattern's next firings after `fromMs`, read the way BullMQ reads it. */
export function nextCronTimes(pattern: string, fromMs: number, count: number): number[] {
  const expression = cronParser.parseExpression(pattern, { currentDate: new Date(fromMs), tz: CRON_TIME_ZONE });
  return Array.from({ length: count }, () => expression.next().getTime());
}

/** 'every 6h' or 'cron 0 *\/6 * * * (UTC)', for lists and messages. */
export function describeCadence(cadence: Cadence): string {
  return cadence.kind === 'every' ? `every ${formatInterval(cadence.ms)}` : `cron ${cadence.pattern} (${CRON_TIME_ZONE})`;
}

/** The largest unit that divides the interval exactly: 6h rather than 360m. */
export function formatInterval(ms: number): string {
  const units = Object.entries(UNIT_MS).reverse() as [Unit, number][];
  const found = units.find(([, size]) => ms % size === 0);
  return found ? `${ms / found[1]}${found[0]}` : `${ms}ms`;
}
