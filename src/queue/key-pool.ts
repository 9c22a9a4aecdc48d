import type { Redis } from 'ioredis';
import { keyFingerprint } from '../crawlora/api-key.js';
import type { RateLimiter } from './rate-limiter.js';

export interface ApiKey {
  value: string;
  fingerprint: string;
}

/** A key comes with its rate-limit slot, which `giveBack` returns when the request is not sent after all. */
export type KeyChoice = { kind: 'key'; key: ApiKey; slot: string } | { kind: 'wait'; waitMs: number } | { kind: 'none-left' };

/**
 * The configured API keys, minus those Crawlora refused. The refused set lives in Redis (as
 * fingerprints) so one worker's 401 disables the key for all of them.
 */
export interface KeyPool {
  /** Takes the first key whose limiter admits a request now; else says how long until one will. */
  choose(): Promise<KeyChoice>;
  giveBack(choice: KeyChoice): Promise<void>;
  /** Returns true the first time this key is disabled anywhere, so it is logged once. */
  disable(key: ApiKey): Promise<boolean>;
}

export function createKeyPool(apiKeys: string[], redis: Redis, keyPrefix: string, limiter: RateLimiter): KeyPool {
  const keys: ApiKey[] = apiKeys.map((value) => ({ value, fingerprint: keyFingerprint(value) }));
  const disabledSet = `${keyPrefix}:disabled-keys`;
  let next = 0;
  return {
    async choose() {
      // Each choice starts one key further than the last, and claims its start before awaiting,
      // so concurrent choices spread across keys instead of all trying the same one first.
      const start = next++;
      // The first key is tried while the refused set is read: one round trip in the usual case.
      // A slot it takes on a key that turns out refused is given back.
      const first = keys[start % keys.length]!;
      const [disabled, firstAdmission] = await Promise.all([redis.smembers(disabledSet).then((members) => new Set(members)), limiter.tryAcquire(first.fingerprint)]);
      if (firstAdmission.admitted && !disabled.has(first.fingerprint)) return { kind: 'key', key: first, slot: firstAdmission.slot };
      if (firstAdmission.admitted) await limiter.giveBack(first.fingerprint, firstAdmission.slot);
      const usable = keys.filter((key) => !disabled.has(key.fingerprint));
      if (usable.length === 0) return { kind: 'none-left' };
      let shortestWaitMs = !firstAdmission.admitted && !disabled.has(first.fingerprint) ? firstAdmission.waitMs : Number.POSITIVE_INFINITY;
      for (let i = 0; i < usable.length; i += 1) {
        const key = usable[(start + i) % usable.length]!;
        if (key === first) continue;
        const admission = await limiter.tryAcquire(key.fingerprint);
        if (admission.admitted) return { kind: 'key', key, slot: admission.slot };
        shortestWaitMs = Math.min(shortestWaitMs, admission.waitMs);
      }
      return { kind: 'wait', waitMs: shortestWaitMs };
    },
    async giveBack(choice) {
      if (choice.kind === 'key') await limiter.giveBack(choice.key.fingerprint, choice.slot);
    },
    async disable(key) {
      return (await redis.sadd(disabledSet, key.fingerprint)) === 1;
    },
  };
}
