/**
 * `npm run chaos`: the full chaos run from issue 5 — 20 hashtags × 50 pages, 3 worker processes,
 * one killed with SIGKILL every few seconds — then a Redis and a Postgres restart mid-crawl, a
 * Postgres down for 35 s (longer than the in-place commit retry) and a Redis FLUSHALL mid-crawl (issue 15).
 * Prints what it did and what the archive holds; exits non-zero if anything was lost.
 */
import { runChaos, type ChaosReport } from '../test/support/chaos.js';

const log = (line: string) => process.stdout.write(`  ${line}\n`);

function verdict(name: string, report: ChaosReport, maxExtraPages: number): boolean {
  const extra = report.pagesCharged - report.pagesNeeded;
  const completed = report.runs.filter((run) => run.status === 'completed').length;
  const ok = completed === report.runs.length && report.missingIds === 0 && report.unexpectedIds === 0 && extra <= maxExtraPages;
  process.stdout.write(
    `${ok ? 'PASS' : 'FAIL'} ${name}: ${completed}/${report.runs.length} runs completed, ${report.kills} kills, ` +
      `${report.pagesCharged} pages billed for ${report.pagesNeeded} needed (+${extra}), missing ${report.missingIds}, ` +
      `unexpected ${report.unexpectedIds}, ${report.pagesPaidTwice} paid twice, ledger ${report.ledgerCredits} ` +
      `(certain ${report.ledgerCertainCredits}, uncertain ${report.ledgerCredits - report.ledgerCertainCredits}) vs simulator ${report.simulatorCredits} credits, ` +
      `${(report.elapsedMs / 1000).toFixed(1)} s\n`,
  );
  return ok;
}

const kills = await runChaos({ hashtags: 20, pagesPerHashtag: 50, workers: 3, killEveryMs: 3_000, timeoutMs: 600_000, log });
// A request a kill cut may or may not have been billed: the ledger may count it (as uncertain), never miss it.
const killsOk = verdict('kill -9 every 3 s', kills, kills.kills) && kills.ledgerCredits >= kills.simulatorCredits;
const redis = await runChaos({ hashtags: 20, pagesPerHashtag: 50, workers: 3, killEveryMs: 0, restartRedisAfterMs: 5_000, timeoutMs: 600_000, log });
const redisOk = verdict('Redis restart', redis, 0);
const postgres = await runChaos({ hashtags: 20, pagesPerHashtag: 50, workers: 3, killEveryMs: 0, restartPostgresAfterMs: 5_000, timeoutMs: 600_000, log });
const postgresOk = verdict('Postgres restart', postgres, 3);
// Longer than the ~13 s a paid page's commit is retried in place: jobs wait as delayed jobs, held answers are committed.
const outage = await runChaos({ hashtags: 20, pagesPerHashtag: 50, workers: 3, killEveryMs: 0, restartPostgresAfterMs: 5_000, postgresDownMs: 35_000, timeoutMs: 600_000, log });
const outageOk = verdict('Postgres down 35 s', outage, 0) && outage.pagesPaidTwice === 0 && outage.ledgerCredits === outage.simulatorCredits;
const flush = await runChaos({ hashtags: 20, pagesPerHashtag: 50, workers: 3, killEveryMs: 0, flushRedisAfterMs: 5_000, timeoutMs: 600_000, log });
const flushOk = verdict('Redis FLUSHALL', flush, 0) && flush.pagesPaidTwice === 0 && flush.ledgerCredits === flush.simulatorCredits;
process.exit(killsOk && redisOk && postgresOk && outageOk && flushOk ? 0 : 1);
