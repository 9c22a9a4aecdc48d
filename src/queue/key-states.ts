import type { RedisConnection } from './connection.js';
import { defineScript } from './redis-script.js';

/**
 * Which API keys Crawlora refused, shared by every worker through Redis (as fingerprints, never
 * keys): a set of disabled keys, when each may be probed next, and each key's last refusal. A
 * disabled key gets one request per probe interval, fleet-wide; it is enabled again when
 * Crawlora accepts it (or by `hashtag-archiver keys enable`). Redis losing this data only
 * costs one unbilled 401/403 per refused key before it is disabled again.
 */

/**
 * The disabled keys, and at most one of them (among the caller's own) whose probe is due: it is
 * claimed for the caller until the next interval. Redis's clock, so workers' clocks do not matter.
 * Reply: the claimed fingerprint or '' first, then the disabled ones.
 */
const REFUSED_SCRIPT = `
local disabled = redis.call('SMEMBERS', KEYS[1])
if #disabled == 0 then return { '' } end
local own = {}
for i = 2, #ARGV do own[ARGV[i]] = true end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reply = { '' }
for _, fingerprint in ipairs(disabled) do
  reply[#reply + 1] = fingerprint
  if reply[1] == '' and own[fingerprint] and tonumber(redis.call('HGET', KEYS[2], fingerprint) or '0') <= now then
    redis.call('HSET', KEYS[2], fingerprint, now + tonumber(ARGV[1]))
    reply[1] = fingerprint
  end
end
return reply
`;

/** Disables a key (its first probe one interval away) and records why; 1 when it was not disabled yet. */
const DISABLE_SCRIPT = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
local t = redis.call('TIME')
redis.call('HSET', KEYS[2], ARGV[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return added
`;

export interface KeyRefusal {
  status: number;
  message: string;
  at: string;
}

export interface Refused {
  disabled: Set<string>;
  /** A disabled key of the caller's whose probe request the caller may send now. */
  probe: string | null;
}

export interface KeyState {
  fingerprint: string;
  disabled: boolean;
  /** When a disabled key is tried again. */
  nextProbeAt: Date | null;
  lastRefusal: KeyRefusal | null;
}

export interface KeyStates {
  refused(ownFingerprints: readonly string[]): Promise<Refused>;
  /** A claimed probe that was not sent after all: it is due again at once. */
  releaseProbe(fingerprint: string): Promise<void>;
  /** Returns true the first time this key is disabled anywhere, so it is logged once. */
  disable(fingerprint: string, refusal: Omit<KeyRefusal, 'at'>): Promise<boolean>;
  /** Returns false when the key was not disabled. */
  enable(fingerprint: string): Promise<boolean>;
  /** These keys and every other key known as disabled or refused, sorted by fingerprint. */
  list(fingerprints: readonly string[]): Promise<KeyState[]>;
}

export function createKeyStates(redis: RedisConnection, keyPrefix: string, probeEveryMs: number): KeyStates {
  const disabledSet = `${keyPrefix}:disabled-keys`;
  const probesHash = `${keyPrefix}:key-probes`;
  const refusalsHash = `${keyPrefix}:key-refusals`;
  const refusedScript = defineScript(redis, 'haKeysRefused', 2, REFUSED_SCRIPT);
  const disableScript = defineScript(redis, 'haKeyDisable', 3, DISABLE_SCRIPT);
  return {
    async refused(own) {
      const [probe, ...disabled] = (await refusedScript(disabledSet, probesHash, probeEveryMs, ...own)) as string[];
      return { disabled: new Set(disabled), probe: probe === '' || probe === undefined ? null : probe };
    },
    async releaseProbe(fingerprint) {
      await redis.hset(probesHash, fingerprint, 0);
    },
    async disable(fingerprint, refusal) {
      const record: KeyRefusal = { ...refusal, at: new Date().toISOString() };
      return Number(await disableScript(disabledSet, probesHash, refusalsHash, fingerprint, probeEveryMs, JSON.stringify(record))) === 1;
    },
    async enable(fingerprint) {
      const [[, removed]] = (await redis.multi().srem(disabledSet, fingerprint).hdel(probesHash, fingerprint).exec()) as [[unknown, number]];
      return removed === 1;
    },
    async list(fingerprints) {
      const [disabled, probes, refusals] = await Promise.all([redis.smembers(disabledSet), redis.hgetall(probesHash), redis.hgetall(refusalsHash)]);
      const all = [...new Set([...fingerprints, ...disabled, ...Object.keys(refusals)])].sort();
      return all.map((fingerprint) => {
        const isDisabled = disabled.includes(fingerprint);
        const probeMs = Number(probes[fingerprint] ?? 0);
        return {
          fingerprint,
          disabled: isDisabled,
          nextProbeAt: isDisabled ? new Date(probeMs) : null,
          lastRefusal: parseRefusal(refusals[fingerprint]),
        };
      });
    },
  };
}

function parseRefusal(raw: string | undefined): KeyRefusal | null {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as KeyRefusal;
  } catch {
    return null;
  }
}
