import { WEBHOOK_EVENTS, type WebhookEvent } from '../db/schema.js';
import { WebhookInputError } from './errors.js';

export { WEBHOOK_EVENTS, type WebhookEvent };

/** `--events a,b`: known names only, each once; none given means every event. */
export function parseEvents(raw: string | undefined): WebhookEvent[] {
  if (raw === undefined) return [...WEBHOOK_EVENTS];
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(WEBHOOK_EVENTS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new WebhookInputError(`--events: ${unknown.length > 0 ? `'${unknown.join(', ')}' is not an event` : 'no event given'}; use a comma-separated list of ${WEBHOOK_EVENTS.join(', ')}`);
  }
  return WEBHOOK_EVENTS.filter((event) => names.includes(event));
}

/** `--coverage-below`: a ratio in (0, 1]. */
export function parseCoverageBelow(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_COVERAGE_BELOW;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw.trim()) || !(value > 0 && value <= 1)) {
    throw new WebhookInputError(`--coverage-below: '${raw}' is not a ratio above 0 and at most 1; give e.g. 0.5 for 50 %`);
  }
  return value;
}

export const DEFAULT_COVERAGE_BELOW = 0.5;

/** What every delivery's body looks like; `data` is the run as it was when the event happened. */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export function webhookBody(message: { type: string; createdAt: Date; data: unknown }): string {
  const body: WebhookBody = { type: message.type, timestamp: message.createdAt.toISOString(), data: message.data as Record<string, unknown> };
  return JSON.stringify(body);
}
