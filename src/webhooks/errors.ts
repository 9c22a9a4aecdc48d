/** A webhook request that cannot be carried out as given; the message says what to change. Never retried. */
export class WebhookInputError extends Error {
  override name = 'WebhookInputError';
  constructor(message: string, readonly status: 'bad-input' | 'not-found' = 'bad-input', options?: ErrorOptions) {
    super(message, options);
  }
}
