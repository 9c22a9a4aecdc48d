import type { RedisConnection } from './connection.js';
import { isPlanName, PLANS, type PlanName } from '../crawlora/plans.js';
import { defineScript } from './redis-script.js';

/** The numbers that pace and cap spending. They can change while workers run (`hashtag-archiver plan set`). */
export interface PlanSettings {
  plan: PlanName;
  ratePerMin: number;
  dailyCredits: number | null;
  monthlyCreditCap: number | null;
}

export interface PlanOverrides {
  plan?: PlanName;
  ratePerMin?: number;
  dailyCredits?: number;
}

export interface LiveSettings {
  /** The latest known settings; synchronous so the hot path never waits on Redis for them. */
  current(): PlanSettings;
  refresh(): Promise<PlanSettings>;
  set(overrides: PlanOverrides): Promise<PlanSettings>;
  reset(): Promise<PlanSettings>;
  /** Re-reads Redis every `refreshMs` until `close()`. */
  start(refreshMs?: number): void;
  close(): void;
}

/**
 * Puts the overrides back unless the hash exists: a `plan` or `plan --reset` made meanwhile by
 * another process wins.
 */
const RESTORE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Written with every change, so the hash exists once `plan` has run, even after `plan --reset`. */
const CHANGED_AT = 'changedAt';

/**
 * Start-up settings (env and flags) with overrides kept in Redis on top, shared by every worker.
 * A changed plan takes a refresh interval to reach every machine; nobody restarts. When Redis
 * loses its data (the hash is gone though this process saw it), the overrides this process last
 * saw are written back, so the fleet does not fall back to its start-up plan unnoticed.
 */
export function createLiveSettings(redis: RedisConnection, keyPrefix: string, base: PlanSettings): LiveSettings {
  const key = `${keyPrefix}:plan-settings`;
  const restore = defineScript(redis, 'haPlanRestore', 1, RESTORE_SCRIPT);
  let cached = base;
  let lastSeen: Record<string, string> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    let stored = await redis.hgetall(key);
    if (Object.keys(stored).length === 0 && lastSeen) {
      await restore(key, ...Object.entries(lastSeen).flat());
      stored = await redis.hgetall(key);
    }
    if (Object.keys(stored).length > 0) lastSeen = stored;
    cached = applyOverrides(base, stored);
    return cached;
  };
  return {
    current: () => cached,
    refresh,
    async set(overrides) {
      const fields = Object.entries(overrides).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)]);
      if (fields.length > 0) await redis.hset(key, { ...Object.fromEntries(fields), [CHANGED_AT]: new Date().toISOString() });
      return refresh();
    },
    async reset() {
      await redis.multi().del(key).hset(key, CHANGED_AT, new Date().toISOString()).exec();
      return refresh();
    },
    start(refreshMs = 2_000) {
      if (timer) return;
      void refresh().catch(() => {});
      timer = setInterval(() => void refresh().catch(() => {}), refreshMs);
      timer.unref();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

/** Pure: a plan override brings that plan's numbers, and explicit numbers win over any plan's. */
export function applyOverrides(base: PlanSettings, stored: Record<string, string>): PlanSettings {
  const planName = stored.plan !== undefined && isPlanName(stored.plan) ? stored.plan : undefined;
  const plan = planName ? PLANS[planName] : undefined;
  const number = (raw: string | undefined) => (raw !== undefined && /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : undefined);
  return {
    plan: plan?.name ?? base.plan,
    ratePerMin: number(stored.ratePerMin) ?? plan?.ratePerMin ?? base.ratePerMin,
    dailyCredits: number(stored.dailyCredits) ?? (plan ? plan.dailyCredits : base.dailyCredits),
    monthlyCreditCap: plan ? (plan.overageUsdPer1000 === null ? plan.includedCredits : null) : base.monthlyCreditCap,
  };
}
