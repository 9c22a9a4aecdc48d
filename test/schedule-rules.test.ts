import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { describeCadence, formatInterval, parseCadence } from '../src/schedules/cadence.js';
import { decideFiring } from '../src/schedules/firing.js';

describe('parseCadence', () => {
  it('reads --every as a whole number and a unit', () => {
    expect(parseCadence({ every: '15m' })).toEqual({ kind: 'every', ms: 15 * 60_000 });
    expect(parseCadence({ every: '6h' })).toEqual({ kind: 'every', ms: 6 * 3_600_000 });
    expect(parseCadence({ every: '1d' })).toEqual({ kind: 'every', ms: 86_400_000 });
    expect(parseCadence({ every: '90s' })).toEqual({ kind: 'every', ms: 90_000 });
  });

  it('refuses intervals under a minute unless a lower minimum is asked for (tests only)', () => {
    expect(() => parseCadence({ every: '30s' })).toThrow(/--every: '30s' is shorter than 1m; give 1m or more/);
    expect(parseCadence({ every: '1s' }, { minimumMs: 1_000 })).toEqual({ kind: 'every', ms: 1_000 });
  });

  it.each(['6', 'h', '6x', '1.5h', '-1h', '6 hours', ''])('refuses --every %j with a ConfigError naming the flag', (every) => {
    expect(() => parseCadence({ every })).toThrow(ConfigError);
    expect(() => parseCadence({ every })).toThrow(/^--every: '.*' is not an interval; give a whole number and a unit s, m, h or d/);
  });

  it('accepts 5-field cron patterns and macros, normalising white space', () => {
    expect(parseCadence({ cron: '0  */6 * * *' })).toEqual({ kind: 'cron', pattern: '0 */6 * * *' });
    expect(parseCadence({ cron: '@daily' })).toEqual({ kind: 'cron', pattern: '@daily' });
  });

  it('refuses cron patterns that are wrong, short of fields, or fire more than once a minute', () => {
    expect(() => parseCadence({ cron: 'every 6 hours * *' })).toThrow(/--cron: 'every 6 hours \* \*' is not a cron pattern/);
    expect(() => parseCadence({ cron: '61 * * * *' })).toThrow(/--cron: '61 \* \* \* \*' is not a cron pattern/);
    // cron-parser alone would read this as "every minute of the 1st".
    expect(() => parseCadence({ cron: '0 */6 * *' })).toThrow(/--cron: '0 \*\/6 \* \*' has 4 fields; give 5/);
    expect(() => parseCadence({ cron: '*/20 * * * * *' })).toThrow(/fires more often than every 1m/);
  });

  it('wants exactly one of --every and --cron', () => {
    expect(() => parseCadence({})).toThrow(/give exactly one of --every .* and --cron/);
    expect(() => parseCadence({ every: '6h', cron: '0 * * * *' })).toThrow(/give exactly one of --every .* and --cron/);
  });

  it('describes a cadence in the units it was most likely given', () => {
    expect(describeCadence({ kind: 'every', ms: 6 * 3_600_000 })).toBe('every 6h');
    expect(describeCadence({ kind: 'cron', pattern: '0 */6 * * *' })).toBe('cron 0 */6 * * * (UTC)');
    expect(formatInterval(90_000)).toBe('90s');
    expect(formatInterval(1_500)).toBe('1500ms');
  });
});

describe('decideFiring', () => {
  it('starts a run when nothing of the hashtag is unfinished', () => {
    expect(decideFiring({ scheduleExists: true, unfinishedRuns: [] })).toEqual({ kind: 'start' });
  });

  it('skips while a run is queued, running or paused, naming the oldest', () => {
    const running = decideFiring({ scheduleExists: true, unfinishedRuns: [{ id: 4, status: 'running', stopReason: null }, { id: 9, status: 'queued', stopReason: null }] });
    expect(running).toEqual({ kind: 'skip', reason: 'run #4 of this hashtag is still running' });
    const paused = decideFiring({ scheduleExists: true, unfinishedRuns: [{ id: 7, status: 'paused', stopReason: 'daily-cap' }] });
    expect(paused).toEqual({ kind: 'skip', reason: 'run #7 of this hashtag is still paused (daily-cap)' });
  });

  it('skips a firing whose schedule was removed after it fell due', () => {
    expect(decideFiring({ scheduleExists: false, unfinishedRuns: [] })).toEqual({ kind: 'skip', reason: 'the schedule was removed before this firing ran' });
  });
});
