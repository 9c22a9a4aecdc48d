import type { RedisConnection } from './connection.js';
import { defineScript } from './redis-script.js';
import { apiKeyScoped } from './redis-keys.js';

/**
 * Reserves a request's credits against a key's daily cap (and, on plans without overage, its
 * monthly included credits) before the request goes out, atomically across every worker, so
 * concurrent workers cannot overshoot a cap together. Counters live in Redis per UTC day and
 * month and are seeded from the Postgres ledger when missing (a new day, or a Redis that lost
 * its data). A reservation whose response was not billed is given back.
 */
const RESERVE_SCRIPT = `
local credits = tonumber(ARGV[1])
local caps = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
for i = 1, 2 do
  if caps[i] >= 0 and tonumber(redis.call('GET', KEYS[i]) or '0') + credits > caps[i] then return i end
end
for i = 1, 2 do
  redis.call('INCRBY', KEYS[i], credits)
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return 0
`;

export interface CreditCaps {
  dailyCredits: number | null;
  /** Only on plans that cannot go past their included credits. */
  monthlyCredits: number | null;
}

export type Reservation =
  /** `release` gives the credits back when the response turned out not to be billed. */
  | { kind: 'reserved'; release: () => Promise<void> }
  /** `waitMs`: from now until `resumeAt`, by the gate's clock. */
  | { kind: 'cap-reached'; cap: 'daily' | 'monthly'; resumeAt: Date; waitMs: number };

export interface CreditGate {
  reserve(keyFingerprint: string, credits: number, caps: CreditCaps): Promise<Reservation>;
}

/** Reads how much the ledger says a key spent since a moment: used to seed a missing counter. */
export type LedgerReader = (keyFingerprint: string, since: Date) => Promise<number>;

const COUNTER_TTL_MS = 40 * 86_400_000;

/**
 * `now` tells which UTC day and month a reservation counts against: Redis's clock (see
 * createRedisClock), so a worker whose own clock runs ahead does not open the next day early.
 */
export function createCreditGate(redis: RedisConnection, keyPrefix: string, ledger: LedgerReader, now: () => Promise<Date>): CreditGate {
  const reserveCredits = defineScript(redis, 'haCreditReserve', 2, RESERVE_SCRIPT);
  const counters = (fingerprint: string, now: Date) => {
    const periods = creditPeriods(now);
    return {
      day: `${apiKeyScoped(keyPrefix, fingerprint, 'credits')}:d:${periods.dayStart.toISOString().slice(0, 10)}`,
      month: `${apiKeyScoped(keyPrefix, fingerprint, 'credits')}:m:${periods.monthStart.toISOString().slice(0, 7)}`,
      periods,
    };
  };
  return {
    async reserve(fingerprint, credits, caps) {
      if (caps.dailyCredits === null && caps.monthlyCredits === null) return { kind: 'reserved', release: async () => {} };
      const at = await now();
      const { day, month, periods } = counters(fingerprint, at);
      for (const [key, since] of [
        [day, periods.dayStart],
        [month, periods.monthStart],
      ] as const) {
        if ((await redis.exists(key)) === 0) await redis.set(key, await ledger(fingerprint, since), 'PX', COUNTER_TTL_MS, 'NX');
      }
      const result = Number(
        await reserveCredits(day, month, credits, caps.dailyCredits ?? -1, caps.monthlyCredits ?? -1, COUNTER_TTL_MS),
      );
      if (result === 0) {
        return {
          kind: 'reserved',
          release: async () => {
            await redis.multi().decrby(day, credits).decrby(month, credits).exec();
          },
        };
      }
      const [cap, resumeAt] = result === 1 ? (['daily', periods.nextDay] as const) : (['monthly', periods.nextMonth] as const);
      return { kind: 'cap-reached', cap, resumeAt, waitMs: resumeAt.getTime() - at.getTime() };
    },
  };
}

/** Crawlora's caps reset at UTC midnight and on the 1st of the month. */
export function creditPeriods(now: Date) {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return {
    dayStart: new Date(Date.UTC(y, m, d)),
    nextDay: new Date(Date.UTC(y, m, d + 1)),
    monthStart: new Date(Date.UTC(y, m, 1)),
    nextMonth: new Date(Date.UTC(y, m + 1, 1)),
  };
}
