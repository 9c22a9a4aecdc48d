import { describe, expect, it } from 'vitest';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 90 }, app: false, cli: { CRAWLORA_RATE_PER_MIN: '6000' } });

describe('hashtag-archiver CLI', () => {
  it('crawl --wait archives a hashtag, prints the runs table and exits 0', async () => {
    const result = await runCli(['crawl', '424242', '--wait'], t.cliEnv({ CRAWLORA_API_KEY: 'cli-key' }));
    expect(result.stderr).not.toContain('cli-key');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/│ 424242\s+│ completed\s+│ 3\s+│ 90\s+│ 90\s+│ 24/);
    const runs = await runCli(['runs'], t.cliEnv());
    expect(runs.stdout).toContain('424242');
  });

  it('refuses a hashtag that is neither an id nor a name with one line naming it', async () => {
    expectOneLineError(await runCli(['crawl', 'christmas!'], t.cliEnv({ CRAWLORA_API_KEY: 'k' })), /hashtag 'christmas!' is neither a numeric id nor a name/);
  });

  it('refuses to crawl without an API key, pointing at the demo', async () => {
    expectOneLineError(await runCli(['crawl', '1'], t.cliEnv()), /CRAWLORA_API_KEY is not set.*npm run demo/);
  });

  it('refuses an unknown plan and a bad --max-pages', async () => {
    expectOneLineError(await runCli(['runs'], t.cliEnv({ CRAWLORA_PLAN: 'gold' })), /CRAWLORA_PLAN: 'gold'/);
    expectOneLineError(await runCli(['crawl', '1', '--max-pages', '-3'], t.cliEnv({ CRAWLORA_API_KEY: 'k' })), /--max-pages: '-3'/);
  });

  it('says which service is unreachable, with the password masked; read-only commands need no Redis', async () => {
    const result = await runCli(['runs'], t.cliEnv({ DATABASE_URL: 'postgres://archiver:hunter2@127.0.0.1:1/archiver' }));
    expectOneLineError(result, /cannot reach Postgres at postgres:\/\/archiver:\*\*\*@127\.0\.0\.1:1\/archiver/);
    expect(result.stderr).not.toContain('hunter2');
    expectOneLineError(await runCli(['usage'], t.cliEnv({ REDIS_URL: 'redis://127.0.0.1:1' })), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect((await runCli(['runs'], t.cliEnv({ REDIS_URL: 'redis://127.0.0.1:1' }))).code).toBe(0);
    expectOneLineError(
      await runCli(['usage'], t.cliEnv({ REDIS_SENTINELS: '127.0.0.1:1,127.0.0.1:2', REDIS_SENTINEL_NAME: 'ha' })),
      /cannot reach Redis at master 'ha' of sentinels 127\.0\.0\.1:1,127\.0\.0\.1:2 .*set REDIS_SENTINELS and REDIS_SENTINEL_NAME$/,
    );
  });

  it('--help warns that a password in --database-url or --redis-url shows in ps', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/--database-url <url> Postgres connection string \(DATABASE_URL\); a password given here shows in `ps` to every user of the machine: prefer the variable/);
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/--redis-url <url> Redis connection string \(REDIS_URL\); a password given here shows in `ps`/);
  });

  it('resume refuses a run that does not exist', async () => {
    expectOneLineError(await runCli(['resume', '999999'], t.cliEnv()), /run 999999 does not exist/);
  });
});
