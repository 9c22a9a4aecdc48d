import { maskUrl } from '../config.js';
import type { Db } from '../db/client.js';
import type { Webhook, WebhookEvent } from '../db/schema.js';
import { sendNow } from './delivery.js';
import { WebhookInputError } from './errors.js';
import { generateSecret, sealSecret } from './secret.js';
import type { DeliveryAttempt } from './send.js';
import type { WebhookService } from './service.js';
import { deleteWebhook, getWebhook, insertPing, insertWebhook, listWebhooks } from './store.js';
import { checkEndpoint } from './target.js';

/** What `webhook list` and /api/webhooks show of an endpoint: never its secret, and its URL's password masked. */
export interface WebhookView {
  id: number;
  url: string;
  events: string[];
  /** null: every hashtag. */
  hashtagIds: string[] | null;
  coverageBelow: number;
  createdAt: Date;
  lastAttemptAt: Date | null;
  lastStatus: string | null;
  consecutiveFailures: number;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
}

export interface WebhookRequest {
  url: string;
  events: WebhookEvent[];
  hashtagIds: string[] | null;
  coverageBelow: number;
}

/** The add, list, remove and test verbs, shared by the CLI and the dashboard's API. */
export async function addWebhook(service: WebhookService, request: WebhookRequest): Promise<{ webhook: WebhookView; secret: string }> {
  const url = await checkEndpoint(request.url, service.config.allowPrivate);
  const secret = generateSecret();
  const row = await insertWebhook(service.deps.db, {
    url: url.toString(),
    events: request.events,
    hashtagIds: request.hashtagIds,
    coverageBelow: request.coverageBelow,
    secretSealed: sealSecret(secret, await service.deps.sealKey()),
  });
  return { webhook: viewOf(row), secret };
}

export async function webhookViews(db: Db): Promise<WebhookView[]> {
  return (await listWebhooks(db)).map(viewOf);
}

export async function removeWebhook(db: Db, id: number): Promise<void> {
  if (!(await deleteWebhook(db, id))) throw notFound(id);
}

/** Sends a `ping` now and says what the endpoint answered. */
export async function testWebhook(service: WebhookService, id: number): Promise<DeliveryAttempt & { messageId: string }> {
  const webhook = await getWebhook(service.deps.db, id);
  if (!webhook) throw notFound(id);
  const message = await insertPing(service.deps.db, id);
  return { ...(await sendNow(message, webhook, service.deps)), messageId: message.id };
}

function notFound(id: number): WebhookInputError {
  return new WebhookInputError(`webhook ${id} does not exist; see 'hashtag-archiver webhook list'`, 'not-found');
}

function viewOf(row: Webhook): WebhookView {
  const { secretSealed: _sealed, url, ...shown } = row;
  return { ...shown, url: maskUrl(url) };
}
