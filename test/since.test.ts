import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const t = useCrawlEnvironment({ app: false });

describe('one --since for crawl and export', () => {
  it('crawl refuses an impossible or non-ISO date with one line naming --since', async () => {
    for (const bad of ['2024-02-30', 'last tuesday', '03/01/2024']) {
      expectOneLineError(await runCli(['crawl', '3242', '--since', bad], t.cliEnv({ CRAWLORA_API_KEY: 'since-key' })), new RegExp(`^error: --since: '${bad}' is not a date`));
    }
  });

  it('crawl reads a date-time without an offset as UTC, whatever the machine\u2019s time zone', async () => {
    const result = await runCli(['crawl', '3242', '--since', '2024-03-01T10:00', '--max-pages', '1'], t.cliEnv({ CRAWLORA_API_KEY: 'since-key', TZ: 'Pacific/Auckland' }));
    expect(result.code).toBe(0);
    const [run] = (await t.database.database.db.execute<{ since: Date }>(sql`select since from crawl_runs order by id desc limit 1`)).rows;
    expect(new Date(run!.since).toISOString()).toBe('2024-03-01T10:00:00.000Z');
  });
});
