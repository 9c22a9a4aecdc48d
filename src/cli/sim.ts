import { Command } from 'commander';
import { ConfigError, positiveInt } from '../config.js';
import { COUNTINGS, type Counting } from '../sim/rate-window.js';
import { startSimulator } from '../sim/server.js';

interface SimFlags {
  port: string;
  items: string;
  ratePerMin?: string;
  dailyCredits?: string;
  latencyMs: string;
  latencyMedianMs?: string;
  latencyP99Ms?: string;
  counting: string;
  windowMs: string;
  burst: string;
}

export function simCommand(): Command {
  return new Command('sim')
    .description('run the Crawlora simulator on loopback (any x-api-key is accepted); for trying the crawler without spending credits')
    .option('--port <n>', 'port to listen on', '8787')
    .option('--items <n>', 'videos per hashtag', '300')
    .option('--rate-per-min <n>', 'requests per minute per key, counted as --counting says (default: no limit)')
    .option('--counting <kind>', `how requests are counted against the rate: ${COUNTINGS.join(', ')}`, 'sliding')
    .option('--window-ms <n>', "sliding or fixed window length; holds the rate's share (10000 at 600/min: 100 per 10 s)", '60000')
    .option('--burst <n>', 'token bucket: requests admitted at once after a pause (refilled at the rate)', '10')
    .option('--daily-credits <n>', 'daily credit cap per key')
    .option('--latency-ms <n>', 'delay added to every answer', '0')
    .option('--latency-median-ms <n>', 'answer times drawn from a lognormal with this median (with --latency-p99-ms), instead of --latency-ms')
    .option('--latency-p99-ms <n>', "the lognormal's 99th percentile, e.g. --latency-median-ms 1500 --latency-p99-ms 6000")
    .action(async (flags: SimFlags) => {
      const latencyMs = flags.latencyMs === '0' ? 0 : positiveInt(flags.latencyMs, '--latency-ms', 1);
      const windowMs = positiveInt(flags.windowMs, '--window-ms', 60_000);
      if (!(COUNTINGS as readonly string[]).includes(flags.counting)) {
        throw new ConfigError(`--counting: '${flags.counting}' is not a way of counting; use one of ${COUNTINGS.join(', ')}`);
      }
      const sim = await startSimulator({
        port: positiveInt(flags.port, '--port', 8787),
        itemsPerHashtag: positiveInt(flags.items, '--items', 300),
        latencyMs,
        latency: latencyDistribution(flags),
        counting: flags.counting as Counting,
        windowMs,
        burst: positiveInt(flags.burst, '--burst', 10),
        limits: {
          ratePerMin: flags.ratePerMin === undefined ? 1_000_000 : limitPerWindow(positiveInt(flags.ratePerMin, '--rate-per-min', 1), windowMs),
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

/** The simulator counts its limit per window; the flag says per minute. */
function limitPerWindow(ratePerMin: number, windowMs: number): number {
  const limit = Math.floor((ratePerMin * windowMs) / 60_000);
  if (limit < 1) throw new ConfigError(`--rate-per-min: ${ratePerMin} a minute is less than one request per ${windowMs} ms window; give a longer --window-ms`);
  return limit;
}

function latencyDistribution(flags: SimFlags): { medianMs: number; p99Ms: number } | null {
  if (flags.latencyMedianMs === undefined && flags.latencyP99Ms === undefined) return null;
  if (flags.latencyMedianMs === undefined || flags.latencyP99Ms === undefined) {
    throw new ConfigError('--latency-median-ms and --latency-p99-ms go together; give both, e.g. --latency-median-ms 1500 --latency-p99-ms 6000');
  }
  const medianMs = positiveInt(flags.latencyMedianMs, '--latency-median-ms', 1500);
  const p99Ms = positiveInt(flags.latencyP99Ms, '--latency-p99-ms', 6000);
  if (p99Ms < medianMs) throw new ConfigError(`--latency-p99-ms: ${p99Ms} is below the median ${medianMs}; give a p99 at least the median`);
  return { medianMs, p99Ms };
}
