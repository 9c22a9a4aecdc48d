import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear: keys and secrets must never reach a log line, even when
 * an object holding it is logged by mistake.
 */
export const REDACT_PATHS = [
  'apiKey',
  'apiKeys',
  '*.apiKey',
  '*.apiKeys',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'dashboardToken',
  '*.dashboardToken',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secretKey',
  '*.secretKey',
];

/**
 * The one logger of a process; components take `logger.child({ component })`.
 * Logs go to stderr (synchronously, so a crash loses no line) and stdout stays for results.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
