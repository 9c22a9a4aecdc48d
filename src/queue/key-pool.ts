import { setTimeout as sleep } from 'node:timers/promises';
import { keyFingerprint } from '../crawlora/api-key.js';
import { CrawloraError } from '../crawlora/errors.js';
import type { Logger } from '../logger.js';
import type { KeyRefusal, KeyStates } from './key-states.js';
import type { Admission, RateLimiter } from './rate-limiter.js';

export interface ApiKey {
  value: string;
  fingerprint: string;
}

/**
 * A key comes with its rate-limit slot, which `giveBack` returns when the request is not sent
 * after all, and the moments the request may leave from and until (`performance.now()`'s clock).
 * `probe`: the key is disabled and this request tests whether Crawlora takes it again.
 */
export type KeyChoice = { kind: 'key'; key: ApiKey; slot: string; readyAtMs: number; leaveByMs: number; probe?: true } | { kind: 'wait'; waitMs: number } | { kind: 'none-left' };
export type TakenKey = Extract<KeyChoice, { kind: 'key' }>;

/**
 * The configured API keys, minus those Crawlora refused (see key-states.ts: one worker's 401
 * disables the key for all of them), plus one probe request per interval for a refused key.
 */
export interface KeyPool {
  /** Takes the first key whose limiter admits a request now; else says how long until one will. */
  choose(): Promise<KeyChoice>;
  giveBack(choice: KeyChoice): Promise<void>;
  /** Returns true the first time this key is disabled anywhere, so it is logged once. */
  disable(key: ApiKey, refusal: Omit<KeyRefusal, 'at'>): Promise<boolean>;
  /** Crawlora answered without refusing the key: a probed key is enabled again (true when it was). */
  accepted(choice: KeyChoice): Promise<boolean>;
}

export function createKeyPool(apiKeys: string[], states: KeyStates, limiter: RateLimiter): KeyPool {
  const keys: ApiKey[] = apiKeys.map((value) => ({ value, fingerprint: keyFingerprint(value) }));
  const fingerprints = keys.map((key) => key.fingerprint);
  let next = 0;
  return {
    async choose() {
      // Each choice starts one key further than the last, and claims its start before awaiting,
      // so concurrent choices spread across keys instead of all trying the same one first.
      const start = next++;
      // The first key is tried while the refused set is read: one round trip in the usual case.
      // A slot it takes on a key that turns out refused is given back.
      const first = keys[start % keys.length]!;
      const [{ disabled, probe }, firstAdmission] = await Promise.all([states.refused(fingerprints), limiter.tryAcquire(first.fingerprint)]);
      const probeKey = keys.find((key) => key.fingerprint === probe);
      if (probeKey) {
        const admission = probeKey === first ? firstAdmission : await limiter.tryAcquire(probeKey.fingerprint);
        if (admission.admitted) {
          if (probeKey !== first && firstAdmission.admitted) await limiter.giveBack(first.fingerprint, firstAdmission.slot);
          return { ...taken(probeKey, admission), probe: true };
        }
        await states.releaseProbe(probeKey.fingerprint);
      }
      if (firstAdmission.admitted && !disabled.has(first.fingerprint)) return taken(first, firstAdmission);
      if (firstAdmission.admitted) await limiter.giveBack(first.fingerprint, firstAdmission.slot);
      const usable = keys.filter((key) => !disabled.has(key.fingerprint));
      if (usable.length === 0) return { kind: 'none-left' };
      let shortestWaitMs = !firstAdmission.admitted && !disabled.has(first.fingerprint) ? firstAdmission.waitMs : Number.POSITIVE_INFINITY;
      for (let i = 0; i < usable.length; i += 1) {
        const key = usable[(start + i) % usable.length]!;
        if (key === first) continue;
        const admission = await limiter.tryAcquire(key.fingerprint);
        if (admission.admitted) return taken(key, admission);
        shortestWaitMs = Math.min(shortestWaitMs, admission.waitMs);
      }
      return { kind: 'wait', waitMs: shortestWaitMs };
    },
    async giveBack(choice) {
      if (choice.kind !== 'key') return;
      // A probe not sent is due again at once, not one interval later.
      await Promise.all([limiter.giveBack(choice.key.fingerprint, choice.slot), choice.probe ? states.releaseProbe(choice.key.fingerprint) : undefined]);
    },
    disable(key, refusal) {
      return states.disable(key.fingerprint, refusal);
    },
    async accepted(choice) {
      return choice.kind === 'key' && choice.probe === true && states.enable(choice.key.fingerprint);
    },
  };
}

/** Crawlora's answer, though an error, shows it took the key (anything but a refusal or a fault on the way). */
export function keyAccepted(err: unknown): boolean {
  return err instanceof CrawloraError && err.retry !== 'disable-key' && err.retry !== 'backoff';
}

/** After an answer that shows Crawlora took the key: a probed key is enabled again, and that is logged. */
export async function noteKeyAccepted(choice: TakenKey, keys: KeyPool, log: Logger): Promise<void> {
  if (await keys.accepted(choice)) log.info({ key: choice.key.fingerprint }, 'Crawlora accepted a disabled API key again; it is enabled');
}

function taken(key: ApiKey, admission: Extract<Admission, { admitted: true }>): TakenKey {
  const readyAtMs = performance.now() + admission.delayMs;
  return { kind: 'key', key, slot: admission.slot, readyAtMs, leaveByMs: readyAtMs + admission.graceMs };
}

/** Whether the slot is still good to use now: at most its grace after its moment (pacing.ts's Pace). */
export function onTime(choice: { leaveByMs: number }): boolean {
  return performance.now() <= choice.leaveByMs;
}

/**
 * Sleeps until the chosen key's slot may leave (reserved slots are spread over the coming
 * moments); false when the wake-up came too late to use it (a stalled event loop).
 */
export async function untilReady(choice: { readyAtMs: number; leaveByMs: number }): Promise<boolean> {
  const waitMs = choice.readyAtMs - performance.now();
  if (waitMs > 0) await sleep(waitMs);
  return onTime(choice);
}
