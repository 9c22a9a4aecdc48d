import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { parseCoverageBelow, parseEvents } from '../src/webhooks/events.js';
import { healthAfterAttempt, retryDelayMs, shouldRetry } from '../src/webhooks/retry.js';
import { generateSecret, keyFingerprint, openSecret, SealedSecretError, sealSecret } from '../src/webhooks/secret.js';
import { checkEndpoint, isRefusedAddress } from '../src/webhooks/target.js';

const KEY = 'k'.repeat(32);

describe('webhook SSRF guard', () => {
  it('refuses link-local IPv4, the AWS IPv6 metadata address and IPv4 written as IPv6; allows loopback and private networks', () => {
    for (const address of ['169.254.169.254', '169.254.0.1', '169.254.255.255', 'fd00:ec2::254', '::ffff:169.254.169.254']) expect(isRefusedAddress(address)).toBe(true);
    for (const address of ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '::1', 'fd00:ec2::253', '169.253.255.255', '169.255.0.0', '8.8.8.8', 'localhost']) {
      expect(isRefusedAddress(address)).toBe(false);
    }
  });

  it('every address in 169.254.0.0/16 is refused, every IPv4 outside it is not', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(fc.property(octet, octet, (c, d) => isRefusedAddress(`169.254.${c}.${d}`)));
    fc.assert(
      fc.property(octet, octet, octet, octet, (a, b, c, d) => {
        fc.pre(!(a === 169 && b === 254));
        return !isRefusedAddress(`${a}.${b}.${c}.${d}`) && !isRefusedAddress(`::ffff:${a}.${b}.${c}.${d}`);
      }),
    );
  });

  it('checkEndpoint refuses every spelling of a metadata address and non-http(s) schemes; HA_WEBHOOK_ALLOW_PRIVATE lifts only the address rule', async () => {
    for (const url of ['http://169.254.169.254/latest', 'http://[fd00:ec2::254]/', 'http://[::ffff:169.254.169.254]/', 'http://2852039166/', 'http://0xa9.0xfe.0xa9.0xfe/', 'https://169.254.1.1:8443/']) {
      await expect(checkEndpoint(url, false)).rejects.toThrow(/link-local or cloud-metadata address, refused against SSRF; set HA_WEBHOOK_ALLOW_PRIVATE=true/);
      await expect(checkEndpoint(url, true)).resolves.toBeInstanceOf(URL);
    }
    for (const url of ['ftp://127.0.0.1/', 'file:///etc/passwd', 'gopher://127.0.0.1/', 'javascript:alert(1)']) {
      await expect(checkEndpoint(url, true)).rejects.toThrow(/only http:\/\/ and https:\/\/ endpoints are allowed/);
    }
    for (const url of ['http://localhost:9/x', 'http://127.0.0.1:9/', 'http://10.1.2.3/x', 'http://192.168.1.5:8080/x', 'http://[::1]:9/x']) {
      await expect(checkEndpoint(url, false)).resolves.toBeInstanceOf(URL);
    }
  });
});

describe('webhook retries and endpoint health', () => {
  const policy = { backoffBaseMs: 10_000, backoffCapMs: 3_600_000, retryForMs: 86_400_000 };

  it('doubles from the base up to the cap, never more, at most a quarter less', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, random) => {
        const ceiling = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** (failures - 1));
        const delay = retryDelayMs(failures, policy, () => random);
        return delay <= ceiling && delay >= ceiling * 0.75 - 1;
      }),
    );
    expect([1, 2, 3, 4].map((failures) => retryDelayMs(failures, policy, () => 0))).toEqual([10_000, 20_000, 40_000, 80_000]);
  });

  it('keeps retrying for a day and no longer: ~30 tries at the defaults', () => {
    let ageMs = 0;
    let tries = 1;
    while (shouldRetry(ageMs, policy)) {
      ageMs += retryDelayMs(tries, policy, () => 0);
      tries += 1;
    }
    expect(ageMs).toBeGreaterThanOrEqual(policy.retryForMs);
    expect(ageMs).toBeLessThan(policy.retryForMs + policy.backoffCapMs);
    expect(tries).toBeGreaterThan(20);
    expect(tries).toBeLessThan(40);
  });

  it('disables an endpoint only once it could not take an event for the whole retry period; a success resets it', () => {
    const eventAt = new Date('2026-01-01T00:00:00Z');
    const later = (ms: number) => new Date(eventAt.getTime() + ms);
    const first = healthAfterAttempt({ failingSince: null, consecutiveFailures: 0 }, { succeeded: false, eventAt }, later(50), policy);
    expect(first).toEqual({ failingSince: eventAt, consecutiveFailures: 1, disable: false });
    // A newer event failing keeps the older one's time; the period runs from the oldest failure.
    const almost = healthAfterAttempt(first, { succeeded: false, eventAt: later(1_000) }, later(policy.retryForMs - 1), policy);
    expect(almost).toMatchObject({ failingSince: eventAt, consecutiveFailures: 2, disable: false });
    expect(healthAfterAttempt(almost, { succeeded: false, eventAt: later(5_000) }, later(policy.retryForMs), policy).disable).toBe(true);
    expect(healthAfterAttempt(almost, { succeeded: true, eventAt }, later(policy.retryForMs), policy)).toEqual({ failingSince: null, consecutiveFailures: 0, disable: false });
  });

  it('the try that gives an event up is the one that disables an endpoint failing all along', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 60_000 }), fc.array(fc.integer({ min: 1, max: policy.backoffCapMs }), { minLength: 1, maxLength: 60 }), (firstTryMs, delays) => {
        const eventAt = new Date(0);
        let health = { failingSince: null as Date | null, consecutiveFailures: 0 };
        let ageMs = firstTryMs;
        for (const delay of delays) {
          const after = healthAfterAttempt(health, { succeeded: false, eventAt }, new Date(ageMs), policy);
          if (after.disable !== !shouldRetry(ageMs, policy)) return false;
          if (after.disable) return true;
          health = after;
          ageMs += delay;
        }
        return true;
      }),
    );
  });
});

describe('webhook secrets', () => {
  it('are whsec_ and 24 random bytes, sealed so the stored value holds no part of them, opened only with the same key', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const sealed = sealSecret(secret, KEY);
    expect(sealed).not.toContain(secret.slice(6, 14));
    expect(sealed).not.toContain(Buffer.from(secret.slice(6), 'base64').toString('hex').slice(0, 12));
    expect(sealed.split('.')[1]).toBe(keyFingerprint(KEY));
    expect(openSecret(sealed, KEY)).toBe(secret);
    expect(sealSecret(secret, KEY)).not.toBe(sealed);
    expect(() => openSecret(sealed, 'x'.repeat(32))).toThrow(SealedSecretError);
    expect(() => openSecret(sealed, 'x'.repeat(32))).toThrow(/sealed with key [0-9a-f]{12}, but the key now is [0-9a-f]{12}/);
    const parts = sealed.split('.');
    const tampered = [...parts.slice(0, 4), Buffer.from('tampered').toString('base64url')].join('.');
    expect(() => openSecret(tampered, KEY)).toThrow(/damaged/);
  });
});

describe('webhook settings', () => {
  it('parse events, the coverage ratio and the variables with one-line errors', () => {
    expect(parseEvents(undefined)).toEqual(['run.completed', 'run.failed', 'run.paused', 'budget.threshold', 'coverage.low']);
    expect(parseEvents('run.paused, run.completed,run.paused')).toEqual(['run.completed', 'run.paused']);
    expect(() => parseEvents('run.done')).toThrow(/^--events: 'run\.done' is not an event/);
    expect(() => parseEvents(',')).toThrow(/^--events: no event given/);
    expect(parseCoverageBelow('0.25')).toBe(0.25);
    for (const bad of ['0', '1.5', 'half', '-0.1']) expect(() => parseCoverageBelow(bad)).toThrow(/^--coverage-below: /);
    expect(loadConfig({}).webhooks).toEqual({
      secretKey: null,
      allowPrivate: false,
      timeoutMs: 10_000,
      backoffBaseMs: 10_000,
      backoffCapMs: 3_600_000,
      retryForMs: 86_400_000,
      relayEveryMs: 1_000,
    });
    expect(loadConfig({ HA_WEBHOOK_ALLOW_PRIVATE: 'true', HA_WEBHOOK_SECRET_KEY: KEY }).webhooks).toMatchObject({ allowPrivate: true, secretKey: KEY });
    expect(() => loadConfig({ HA_WEBHOOK_SECRET_KEY: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ HA_WEBHOOK_BACKOFF_BASE_MS: '0' })).toThrow(/^HA_WEBHOOK_BACKOFF_BASE_MS: '0' is not a whole number/);
  });
});
