export interface RetryPolicy {
  backoffBaseMs: number;
  backoffCapMs: number;
  /** An event is given up this long after it happened; an endpoint failing this long is disabled. */
  retryForMs: number;
}

/**
 * Wait before the next try once `failures` tries have failed: doubling from the base up to the
 * cap, with up to a quarter of jitter off, so many events for one endpoint that comes back do not
 * all arrive in the same instant.
 */
export function retryDelayMs(failures: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number = Math.random): number {
  const exponential = policy.backoffBaseMs * 2 ** Math.min(40, Math.max(0, failures - 1));
  const delay = Math.min(policy.backoffCapMs, exponential);
  return Math.max(1, Math.round(delay * (1 - random() / 4)));
}

/**
 * Whether a failed event gets another try: while it is younger than retryForMs. The last try
 * comes after that by at most one backoff; an endpoint that failed all along is disabled by it
 * (healthAfterAttempt).
 */
export function shouldRetry(eventAgeMs: number, policy: Pick<RetryPolicy, 'retryForMs'>): boolean {
  return eventAgeMs < policy.retryForMs;
}

export interface EndpointHealth {
  /** When the oldest event it failed to take since its last success happened; null while it works. */
  failingSince: Date | null;
  consecutiveFailures: number;
}

export interface HealthAfterAttempt extends EndpointHealth {
  /** It could not take an event for retryForMs: stop sending to it. */
  disable: boolean;
}

/**
 * Failing is counted from the failed event's own time, so the try that gives an event up
 * (shouldRetry) is the one that finds its endpoint failing for the whole period.
 */
export function healthAfterAttempt(
  before: EndpointHealth,
  attempt: { succeeded: boolean; eventAt: Date },
  now: Date,
  policy: Pick<RetryPolicy, 'retryForMs'>,
): HealthAfterAttempt {
  if (attempt.succeeded) return { failingSince: null, consecutiveFailures: 0, disable: false };
  const failingSince = before.failingSince !== null && before.failingSince < attempt.eventAt ? before.failingSince : attempt.eventAt;
  return {
    failingSince,
    consecutiveFailures: before.consecutiveFailures + 1,
    disable: now.getTime() - failingSince.getTime() >= policy.retryForMs,
  };
}
