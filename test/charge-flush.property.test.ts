import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dueForLedger, type FlushRules } from '../src/queue/charge-flush.js';
import type { NotedCharge } from '../src/queue/paid-answers.js';
import { isLive, WORKER_SILENT_MS } from '../src/queue/worker-liveness.js';

const NOW_MS = 1_800_000_000_000;
const rules: FlushRules = { billedForMs: 30_000, inFlightForMs: 60_000 };

const chargeArb = fc.record({
  ageMs: fc.integer({ min: 0, max: 600_000 }),
  inFlight: fc.boolean(),
  uncertain: fc.boolean(),
  ownerAlive: fc.boolean(),
});

function noted({ ageMs, inFlight, uncertain }: { ageMs: number; inFlight: boolean; uncertain: boolean }): NotedCharge {
  return {
    chargeId: 'c1',
    keyFingerprint: 'key_0123456789',
    endpoint: 'hashtags',
    hashtagId: '42',
    runId: 7,
    credits: 8,
    uncertain,
    chargedAt: new Date(NOW_MS - ageMs),
    owner: 'host:1:abcd',
    inFlight,
  };
}

describe('which charges noted in Redis go to the ledger (dueForLedger)', () => {
  it('a request in flight whose worker is dead is recorded at once, as uncertain', () => {
    fc.assert(
      fc.property(chargeArb, (input) => {
        const row = dueForLedger(noted({ ...input, inFlight: true }), false, NOW_MS, rules);
        expect(row).toMatchObject({ chargeId: 'c1', uncertain: true, credits: 8, runId: 7 });
        expect(row).not.toHaveProperty('owner');
      }),
    );
  });

  it("a live worker's request is left to it until it outlived any request, then counted as possibly billed", () => {
    fc.assert(
      fc.property(chargeArb, (input) => {
        const row = dueForLedger(noted({ ...input, inFlight: true }), true, NOW_MS, rules);
        if (input.ageMs < rules.inFlightForMs) expect(row).toBeNull();
        else expect(row).toMatchObject({ uncertain: true });
      }),
    );
  });

  it('an answered charge keeps its own certainty and waits the billed delay, whoever its owner', () => {
    fc.assert(
      fc.property(chargeArb, (input) => {
        const row = dueForLedger(noted({ ...input, inFlight: false }), input.ownerAlive, NOW_MS, rules);
        if (input.ageMs < rules.billedForMs) expect(row).toBeNull();
        else expect(row).toMatchObject({ uncertain: input.uncertain });
      }),
    );
  });

  it('a charge noted before in-flight notes existed (no owner, no inFlight) is an answered one', () => {
    const { owner: _owner, inFlight: _inFlight, ...old } = noted({ ageMs: 40_000, inFlight: false, uncertain: false });
    expect(dueForLedger(old as NotedCharge, false, NOW_MS, rules)).toMatchObject({ uncertain: false });
  });

  it('a worker is live until it missed five beats', () => {
    expect(isLive(NOW_MS - WORKER_SILENT_MS, NOW_MS)).toBe(true);
    expect(isLive(NOW_MS - WORKER_SILENT_MS - 1, NOW_MS)).toBe(false);
    expect(isLive(undefined, NOW_MS)).toBe(false);
  });
});
