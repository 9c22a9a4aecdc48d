import { describe, expect, it } from 'vitest';
import { runChaos, type ChaosReport } from '../support/chaos.js';

function expectExactArchive(report: ChaosReport, hashtags: number, pagesPerHashtag: number) {
  expect(report.runs.map((run) => run.status)).toEqual(Array.from({ length: hashtags }, () => 'completed'));
  expect(report.missingIds).toBe(0);
  expect(report.unexpectedIds).toBe(0);
  expect(report.videoRows).toBe(hashtags * pagesPerHashtag * 30);
}

describe('chaos: workers killed, services restarted, nothing lost', () => {
  it('kill -9 of random workers: every run completes, exact ids, at most one extra billed page per kill', async () => {
    const report = await runChaos({ hashtags: 6, pagesPerHashtag: 15, workers: 3, killEveryMs: 1_500, timeoutMs: 150_000 });
    expectExactArchive(report, 6, 15);
    expect(report.kills).toBeGreaterThan(0);
    expect(report.pagesCharged - report.pagesNeeded).toBeLessThanOrEqual(report.kills);
    expect(report.pagesCharged).toBeGreaterThanOrEqual(report.pagesNeeded);
    // A request a kill cut may have been billed: the ledger counts it (as uncertain), never misses it.
    expect(report.ledgerCredits).toBeGreaterThanOrEqual(report.simulatorCredits);
    expect(report.ledgerCertainCredits).toBeLessThanOrEqual(report.simulatorCredits);
  });

  it('Redis restarted mid-crawl: the crawl resumes and completes', async () => {
    const report = await runChaos({ hashtags: 4, pagesPerHashtag: 15, workers: 2, killEveryMs: 0, restartRedisAfterMs: 1_500, timeoutMs: 150_000 });
    expectExactArchive(report, 4, 15);
    expect(report.pagesCharged).toBe(report.pagesNeeded);
  });

  it('Postgres restarted mid-crawl: page jobs retry and nothing is lost', async () => {
    const report = await runChaos({ hashtags: 4, pagesPerHashtag: 15, workers: 2, killEveryMs: 0, restartPostgresAfterMs: 1_500, timeoutMs: 150_000 });
    expectExactArchive(report, 4, 15);
  });
});
