import { describe, expect, it } from 'vitest';
import { runChaos } from '../support/chaos.js';

describe('Postgres away longer than the in-place commit retry', () => {
  it('stopped for 35 s mid-crawl: jobs wait without failing, every run completes by itself, no page paid twice, ledger = simulator charge', async () => {
    // 4 s after the first page served; at 50 ms a page the 240 pages take ~7 s, so it comes mid-crawl.
    const report = await runChaos({ hashtags: 4, pagesPerHashtag: 60, workers: 2, killEveryMs: 0, latencyMs: 50, restartPostgresAfterMs: 4_000, postgresDownMs: 35_000, timeoutMs: 240_000 });
    expect(report.runs.map((run) => run.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(report.videoRows).toBe(4 * 60 * 30);
    expect(report.missingIds).toBe(0);
    expect(report.unexpectedIds).toBe(0);
    expect(report.pagesPaidTwice).toBe(0);
    expect(report.pagesCharged).toBe(report.pagesNeeded);
    expect(report.ledgerCredits).toBe(report.simulatorCredits);
    // The outage came mid-crawl, not after it: the crawl spans it.
    const spanMs = Math.max(...report.runs.map((run) => run.finishedAt!.getTime())) - Math.min(...report.runs.map((run) => run.createdAt.getTime()));
    expect(spanMs).toBeGreaterThan(35_000);
  }, 300_000);
});
