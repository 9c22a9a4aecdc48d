import Table from 'cli-table3';
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { keyFingerprint } from '../crawlora/api-key.js';
import type { KeyState } from '../queue/key-states.js';
import { readEffectiveRate } from '../queue/rate-limiter.js';
import { configFrom, withApp } from './context.js';
import { terminalText } from './terminal-text.js';

const FINGERPRINT = /^key_[0-9a-f]{10}$/;

/** `keys` and `keys enable <fingerprint>`: the API keys as Crawlora last judged them, by fingerprint only. */
export function keysCommand(): Command {
  return new Command('keys')
    .description('the API keys (by fingerprint, never the key): state, rate, last refusal; `keys enable` takes a refused one back')
    .addCommand(listCommand().exitOverride(), { isDefault: true })
    .addCommand(enableCommand().exitOverride());
}

function listCommand(): Command {
  return new Command('list').description('every configured or refused key: state, rate, last refusal').action(async (_flags, command: Command) => {
    const config = configFrom(command);
    await withApp(config, async (app) => {
      const [states, settings] = await Promise.all([app.keyStates.list(config.apiKeys.map(keyFingerprint)), app.settings.refresh()]);
      const rates = await Promise.all(states.map((state) => readEffectiveRate(app.redis, config.queuePrefix, state.fingerprint, settings.ratePerMin)));
      const output = states.length === 0 ? 'no API keys: set CRAWLORA_API_KEY (several comma-separated)' : renderKeys(states, rates, settings.ratePerMin);
      process.stdout.write(`${terminalText(output)}\n`);
    });
  });
}

function enableCommand(): Command {
  return new Command('enable')
    .description('use a refused key again at once, without waiting for its next probe')
    .argument('<fingerprint>', 'as `keys` lists it, e.g. key_0123456789')
    .action(async (fingerprint: string, _flags, command: Command) => {
      // Never echoed: a user may paste the key itself here.
      if (!FINGERPRINT.test(fingerprint)) throw new ConfigError("keys enable: give a key's fingerprint as `hashtag-archiver keys` lists it (key_ and 10 hex digits), never the key itself");
      await withApp(configFrom(command), async (app) => {
        if (!(await app.keyStates.enable(fingerprint))) throw new ConfigError(`keys enable: ${fingerprint} is not disabled; \`hashtag-archiver keys\` lists the keys and their state`);
        process.stdout.write(`${fingerprint} enabled: workers use it again from their next page\n`);
      });
    });
}

/** `rates`: each key's effective rate per minute (lower than the plan's after 429s), in the order of `states`. */
export function renderKeys(states: KeyState[], rates: number[], planRatePerMin: number): string {
  const table = new Table({ head: ['key', 'state', 'rate', 'last refusal'], style: { head: [], border: [] } });
  for (const [index, state] of states.entries()) {
    const rate = Math.round(rates[index] ?? planRatePerMin);
    const refusal = state.lastRefusal;
    table.push([
      state.fingerprint,
      state.disabled ? `disabled; next probe ${formatTime(state.nextProbeAt)}` : 'active',
      rate < planRatePerMin ? `${rate}/min (plan ${planRatePerMin}, cut after 429s)` : `${rate}/min`,
      refusal ? `${formatTime(new Date(refusal.at))} ${refusal.message}` : '-',
    ]);
  }
  return table.toString();
}

function formatTime(time: Date | null): string {
  return time && !Number.isNaN(time.getTime()) ? time.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}
