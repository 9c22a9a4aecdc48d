import { Command } from 'commander';
import { ConfigError, positiveInt } from '../config.js';
import { isPlanName, PLAN_NAMES } from '../crawlora/plans.js';
import type { PlanOverrides, PlanSettings } from '../queue/live-settings.js';
import { configFrom, withApp } from './context.js';

interface PlanFlags {
  ratePerMin?: string;
  dailyCredits?: string;
  reset?: boolean;
}

export function planCommand(): Command {
  return new Command('plan')
    .description('show the plan and limits workers use; change them for every running worker at once (no restart)')
    .argument('[plan]', `switch to this plan: ${PLAN_NAMES.join(', ')}`)
    .option('--rate-per-min <n>', "requests per minute per key, instead of the plan's")
    .option('--daily-credits <n>', "daily credit cap per key, instead of the plan's")
    .option('--reset', 'drop the changes and go back to the environment settings')
    .action(async (planName: string | undefined, flags: PlanFlags, command: Command) => {
      const overrides = parseOverrides(planName, flags);
      await withApp(configFrom(command), async (app) => {
        const settings = flags.reset
          ? await app.settings.reset()
          : Object.keys(overrides).length > 0
            ? await app.settings.set(overrides)
            : await app.settings.refresh();
        process.stdout.write(renderSettings(settings));
      });
    });
}

function parseOverrides(planName: string | undefined, flags: PlanFlags): PlanOverrides {
  if (planName !== undefined && !isPlanName(planName.toLowerCase())) {
    throw new ConfigError(`plan: '${planName}' is not a Crawlora plan; use one of ${PLAN_NAMES.join(', ')}`);
  }
  return {
    ...(planName === undefined ? {} : { plan: planName.toLowerCase() as PlanOverrides['plan'] }),
    ...(flags.ratePerMin === undefined ? {} : { ratePerMin: positiveInt(flags.ratePerMin, '--rate-per-min', 1) }),
    ...(flags.dailyCredits === undefined ? {} : { dailyCredits: positiveInt(flags.dailyCredits, '--daily-credits', 1) }),
  };
}

function renderSettings(settings: PlanSettings): string {
  return [
    `plan           ${settings.plan}`,
    `rate           ${settings.ratePerMin} requests/min per key`,
    `daily cap      ${settings.dailyCredits ?? 'none'}${settings.dailyCredits === null ? '' : ' credits per key'}`,
    `monthly stop   ${settings.monthlyCreditCap === null ? 'none (overage billed)' : `${settings.monthlyCreditCap} credits (no overage on this plan)`}`,
    '',
  ].join('\n');
}
