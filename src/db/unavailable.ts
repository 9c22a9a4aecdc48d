/**
 * Whether an error means Postgres did not answer (stopped, restarting, unreachable, out of
 * connections) rather than refused what was asked. Such a failure says nothing about the job, so it
 * is waited out without spending an attempt. Drizzle wraps driver errors, hence the walk down `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let current = err, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof AggregateError && current.errors.some(isDatabaseUnavailable)) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || code.startsWith('08'))) return true;
    if (DRIVER_MESSAGES.some((pattern) => pattern.test(current.message))) return true;
  }
  return false;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections; class 08 is connection_exception. */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** node-postgres reports a lost or never-made connection by message only. */
const DRIVER_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /is not queryable/];
