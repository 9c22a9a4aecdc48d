import { Webhook } from 'standardwebhooks';
import { Agent, request, type Dispatcher } from 'undici';
import { webhookBody } from './events.js';
import { guardedLookup, refusedLiteral } from './target.js';

export interface OutgoingMessage {
  id: string;
  type: string;
  createdAt: Date;
  data: unknown;
}

export interface DeliveryAttempt {
  succeeded: boolean;
  /** null: no HTTP answer (refused, timed out, connection failed). */
  responseCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface Sender {
  /** One signed POST; never throws, the outcome says what happened. */
  send(url: string, secret: string, message: OutgoingMessage): Promise<DeliveryAttempt>;
  close(): Promise<void>;
}

/** A 2xx is a delivery; anything else (redirects included: they are not followed) is a failure. */
export function createSender(options: { timeoutMs: number; allowPrivate: boolean }): Sender {
  // Connections look their host up through the SSRF guard, so the address checked is the one used.
  const dispatcher: Dispatcher = new Agent(options.allowPrivate ? {} : { connect: { lookup: guardedLookup } });
  let closing: Promise<void> | undefined;
  return {
    async send(url, secret, message) {
      const startedMs = performance.now();
      const elapsed = () => Math.round(performance.now() - startedMs);
      const target = new URL(url);
      const literal = options.allowPrivate ? null : refusedLiteral(target);
      if (literal) return { succeeded: false, responseCode: null, durationMs: 0, error: literal };
      const body = webhookBody(message);
      const sentAt = new Date();
      try {
        const response = await request(target, {
          method: 'POST',
          dispatcher,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'hashtag-archiver-webhooks',
            'webhook-id': message.id,
            'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
            'webhook-signature': new Webhook(secret).sign(message.id, sentAt, body),
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        // The answer's body means nothing to us; reading it frees the connection.
        await response.body.dump({ limit: 64 * 1024 });
        const succeeded = response.statusCode >= 200 && response.statusCode < 300;
        return { succeeded, responseCode: response.statusCode, durationMs: elapsed(), error: succeeded ? null : `HTTP ${response.statusCode}` };
      } catch (err) {
        return { succeeded: false, responseCode: null, durationMs: elapsed(), error: describeFailure(err, options.timeoutMs) };
      }
    },
    close() {
      closing ??= dispatcher.close();
      return closing;
    },
  };
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as NodeJS.ErrnoException).code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
