import { Command } from 'commander';
import { desc, eq } from 'drizzle-orm';
import { PLANS } from '../crawlora/plans.js';
import { runMigrations } from '../db/migrate.js';
import { hashtagVideos, videos } from '../db/schema.js';
import { startCrawl } from '../queue/start-crawl.js';
import { startSimulator, type SimulatorHandle } from '../sim/server.js';
import { arrivalRatePerMin } from '../sim/stats.js';
import { configFrom, withApp } from './context.js';
import { renderRunsTable } from './runs-table.js';
import { watchRuns } from './watch-runs.js';
import { terminalLine, terminalText } from './terminal-text.js';

const DEMO_HASHTAG_ID = '3242';
const DEMO_SIM_ITEMS = 600;

/**
 * The whole product in one go: migrate, archive one hashtag, show what landed. Without an API
 * key it runs against the simulator (on the Pro plan's pace unless CRAWLORA_PLAN says otherwise),
 * so a fresh clone shows a real crawl for free.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description(`archive hashtag ${DEMO_HASHTAG_ID} end to end; against the simulator when CRAWLORA_API_KEY is not set`)
    .option('--hashtag <id>', 'hashtag id to archive', DEMO_HASHTAG_ID)
    .option('--max-pages <n>', 'stop after this many pages (with a real key the default is 3, to spend at most 24 credits)')
    .action(async (flags: { hashtag: string; maxPages?: string }, command: Command) => {
      let config = configFrom(command);
      let sim: SimulatorHandle | undefined;
      if (config.apiKeys.length === 0) {
        const plan = process.env.CRAWLORA_PLAN ? config.plan : 'pro';
        const ratePerMin = process.env.CRAWLORA_RATE_PER_MIN ? config.ratePerMin : PLANS[plan].ratePerMin;
        sim = await startSimulator({ itemsPerHashtag: DEMO_SIM_ITEMS, limits: { ratePerMin, dailyCredits: PLANS[plan].dailyCredits } });
        config = { ...config, apiKeys: ['demo-simulator-key'], baseUrl: sim.baseUrl, plan, ratePerMin };
        process.stdout.write(`no CRAWLORA_API_KEY: crawling the simulator at ${sim.baseUrl} on the ${plan} plan (${ratePerMin} requests/min)\n`);
      }
      const maxPages = flags.maxPages ? Number(flags.maxPages) : sim ? null : 3;
      try {
        await withApp(config, async (app) => {
          const db = app.database.db;
          await runMigrations(db);
          const [run] = await startCrawl(db, app.queue, { hashtagIds: [flags.hashtag], maxPages, maxItems: null });
          app.startWorker();
          const [finished] = await watchRuns(db, [run!.id]);
          const top = await db
            .select({ id: videos.id, author: videos.authorUniqueId, plays: videos.playCount, description: videos.description })
            .from(hashtagVideos)
            .innerJoin(videos, eq(videos.id, hashtagVideos.videoId))
            .where(eq(hashtagVideos.hashtagId, flags.hashtag))
            .orderBy(desc(videos.playCount))
            .limit(3);
          process.stdout.write(`\n${terminalText(renderRunsTable([finished!]))}\n\ntop videos of hashtag ${flags.hashtag} by plays:\n`);
          for (const video of top) {
            process.stdout.write(`${terminalLine(`  ${video.id}  @${video.author ?? '?'}  ${video.plays ?? '?'} plays  ${(video.description ?? '').slice(0, 50)}`)}\n`);
          }
          if (sim) {
            const stats = sim.stats();
            process.stdout.write(`\nsimulator saw ${stats.requests} requests (${JSON.stringify(stats.byStatus)}), charged ${stats.creditsTotal} credits\n`);
            const keptPerMin = arrivalRatePerMin(stats.pageRequests.map((request) => request.atMs));
            if (keptPerMin !== null) {
              process.stdout.write(`paced at ${keptPerMin.toFixed(1)} requests/min against the plan's ${config.ratePerMin}\n`);
            }
          }
          process.stdout.write(`\nsee all runs: npx hashtag-archiver runs\n`);
          if (finished!.status !== 'completed') process.exitCode = 1;
        });
      } finally {
        await sim?.close();
      }
    });
}
