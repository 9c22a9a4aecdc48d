import { Command } from 'commander';
import { getLiveUsage, type UsageReport } from '../db/usage.js';
import { describeKeyRate, readKeyRates, type KeyRate } from '../queue/key-rates.js';
import { configFrom, withApp } from './context.js';

export function usageCommand(): Command {
  return new Command('usage')
    .description("credits spent today against the daily cap, this month against the plan's included credits, and the overage in dollars")
    .option('--json', 'print the report as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withApp(configFrom(command), async (app) => {
        const [report, keyRates] = await Promise.all([getLiveUsage(app.database.db, app.settings), readKeyRates(app.redis, app.config.queuePrefix, app.config.apiKeys, (await app.settings.refresh()).ratePerMin)]);
        process.stdout.write(flags.json ? `${JSON.stringify({ ...report, keyRates }, null, 2)}\n` : renderUsage(report, keyRates));
      });
    });
}

export function renderUsage(report: UsageReport, keyRates: KeyRate[] = []): string {
  const cap = report.dailyCredits === null ? 'no daily cap' : `of ${report.dailyCredits} per key`;
  const overage =
    report.overageUsd === null
      ? `no overage on the ${report.plan} plan: crawls pause at ${report.includedCredits} credits until ${report.monthResetsAt.toISOString().slice(0, 10)}`
      : `$${report.overageUsd.toFixed(2)} (${report.overageCredits} credits past the included ones)`;
  const lines = [
    `plan     ${report.plan}`,
    `today    ${report.todayCredits} credits (${cap}; resets ${report.dayResetsAt.toISOString()})`,
    `month    ${report.monthCredits} of ${report.includedCredits} included credits${uncertain(report.uncertainCredits)}`,
    `overage  ${overage}`,
    ...report.keys.map((key) => `  ${key.keyFingerprint}  today ${key.todayCredits}  month ${key.monthCredits}${uncertain(key.uncertainCredits)}`),
    ...keyRates.map((rate) => `pace     ${rate.keyFingerprint}  ${describeKeyRate(rate)}`),
  ];
  return `${lines.join('\n')}\n`;
}

function uncertain(credits: number): string {
  return credits === 0 ? '' : ` (${credits} uncertain: requests that timed out, counted as billed)`;
}
