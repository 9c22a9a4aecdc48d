import Table from 'cli-table3';
import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { parseHashtagRef } from '../crawlora/hashtag-ref.js';
import { cachedHashtagIds } from '../hashtags/lookup.js';
import { addWebhook, removeWebhook, testWebhook, webhookViews, type WebhookView } from '../webhooks/admin.js';
import { DEFAULT_COVERAGE_BELOW, parseCoverageBelow, parseEvents, WEBHOOK_EVENTS } from '../webhooks/events.js';
import { formatTime } from './format-time.js';
import { configFrom, withApp, withDatabase } from './context.js';

interface AddFlags {
  events?: string;
  hashtag: string[];
  coverageBelow?: string;
}

/** `webhook add | list | remove | test`: endpoints told when runs finish, fail, pause or near their budget. */
export function webhookCommand(): Command {
  return new Command('webhook')
    .description('tell other systems (signed Standard Webhooks, retried for a day) when runs complete, fail, pause or near their budget')
    .addCommand(addCommand().exitOverride())
    .addCommand(listCommand().exitOverride())
    .addCommand(removeCommand().exitOverride())
    .addCommand(testCommand().exitOverride());
}

function addCommand(): Command {
  return new Command('add')
    .description("add an endpoint and print its signing secret (whsec_…, shown only once); verify deliveries with any Standard Webhooks library")
    .argument('<url>', 'http:// or https:// endpoint that receives a POST per event')
    .option('--events <list>', `comma-separated: ${WEBHOOK_EVENTS.join(', ')} (default: all)`)
    .option('--hashtag <hashtag>', 'only runs of this hashtag (id, or a name already resolved); repeat or separate with commas', collect, [])
    .option('--coverage-below <ratio>', `coverage.low fires when a completed full crawl archived less than this share of the hashtag's reported videos (default ${DEFAULT_COVERAGE_BELOW})`)
    .action(async (url: string, flags: AddFlags, command: Command) => {
      const events = parseEvents(flags.events);
      const coverageBelow = parseCoverageBelow(flags.coverageBelow);
      const refs = flags.hashtag.flatMap((value) => value.split(',')).filter((value) => value.trim() !== '').map(parseHashtagRef);
      await withApp(configFrom(command), async (app) => {
        const hashtagIds = refs.length === 0 ? null : await cachedHashtagIds(app.database.db, refs);
        const { webhook, secret } = await addWebhook(app.webhooks, { url, events, hashtagIds, coverageBelow });
        process.stdout.write(`webhook ${webhook.id} added: ${webhook.url}, ${describeScope(webhook)}\n`);
        process.stdout.write(`${secret}\n`);
        process.stdout.write('keep this signing secret now: it is not shown again\n');
      });
    });
}

function listCommand(): Command {
  return new Command('list').description('every endpoint: events, last delivery, failures, and why one was disabled').action(async (_flags, command: Command) => {
    await withDatabase(configFrom(command), async (database) => {
      const views = await webhookViews(database.db);
      process.stdout.write(views.length === 0 ? "no webhooks; add one with 'hashtag-archiver webhook add <url>'\n" : `${renderWebhooks(views)}\n`);
    });
  });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove an endpoint, its pending events and its delivery log')
    .argument('<id>', 'webhook id from `webhook list`')
    .action(async (raw: string, _flags, command: Command) => {
      const id = positiveInt(raw, 'webhook id', 1);
      await withDatabase(configFrom(command), async (database) => {
        await removeWebhook(database.db, id);
        process.stdout.write(`webhook ${id} removed\n`);
      });
    });
}

function testCommand(): Command {
  return new Command('test')
    .description('send a signed `ping` now and show the answer; a disabled endpoint that answers 2xx is enabled again')
    .argument('<id>', 'webhook id from `webhook list`')
    .action(async (raw: string, _flags, command: Command) => {
      const id = positiveInt(raw, 'webhook id', 1);
      await withApp(configFrom(command), async (app) => {
        const result = await testWebhook(app.webhooks, id);
        if (result.succeeded) {
          process.stdout.write(`webhook ${id}: ping ${result.messageId} answered HTTP ${result.responseCode} in ${result.durationMs} ms\n`);
        } else {
          process.stderr.write(`error: webhook ${id}: ping ${result.messageId} failed: ${result.error}\n`);
          process.exitCode = 1;
        }
      });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeScope(webhook: Pick<WebhookView, 'events' | 'hashtagIds'>): string {
  return `events ${webhook.events.join(', ')}; ${webhook.hashtagIds === null ? 'every hashtag' : `hashtags ${webhook.hashtagIds.join(', ')}`}`;
}

export function renderWebhooks(views: WebhookView[]): string {
  const table = new Table({ head: ['id', 'url', 'events', 'hashtags', 'last delivery', 'failures', 'state'], style: { head: [], border: [] } });
  for (const view of views) {
    table.push([
      view.id,
      view.url,
      view.events.join('\n'),
      view.hashtagIds?.join('\n') ?? 'all',
      view.lastAttemptAt ? `${formatTime(view.lastAttemptAt)} ${view.lastStatus ?? ''}` : '-',
      view.consecutiveFailures === 0 ? '0' : `${view.consecutiveFailures} in a row since ${formatTime(view.failingSince)}`,
      view.disabledAt ? `DISABLED ${formatTime(view.disabledAt)}: ${view.disabledReason ?? ''}` : 'active',
    ]);
  }
  return table.toString();
}
