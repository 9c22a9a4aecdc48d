import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { startSimulator } from '../sim/server.js';

interface SimFlags {
  port: string;
  items: string;
  ratePerMin?: string;
  dailyCredits?: string;
  latencyMs: string;
}

export function simCommand(): Command {
  return new Command('sim')
    .description('run the Crawlora simulator on loopback (any x-api-key is accepted); for trying the crawler without spending credits')
    .option('--port <n>', 'port to listen on', '8787')
    .option('--items <n>', 'videos per hashtag', '300')
    .option('--rate-per-min <n>', 'requests per minute per key (sliding window)')
    .option('--daily-credits <n>', 'daily credit cap per key')
    .option('--latency-ms <n>', 'delay added to every answer', '0')
    .action(async (flags: SimFlags) => {
      const latencyMs = flags.latencyMs === '0' ? 0 : positiveInt(flags.latencyMs, '--latency-ms', 1);
      const sim = await startSimulator({
        port: positiveInt(flags.port, '--port', 8787),
        itemsPerHashtag: positiveInt(flags.items, '--items', 300),
        latencyMs,
        limits: {
          ratePerMin: flags.ratePerMin === undefined ? 1_000_000 : positiveInt(flags.ratePerMin, '--rate-per-min', 1),
          dailyCredits: flags.dailyCredits === undefined ? null : positiveInt(flags.dailyCredits, '--daily-credits', 1),
        },
      });
      process.stdout.write(`Crawlora simulator at ${sim.baseUrl} (stats: ${sim.url}/__sim/stats); set CRAWLORA_BASE_URL=${sim.baseUrl}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.close();
    });
}
