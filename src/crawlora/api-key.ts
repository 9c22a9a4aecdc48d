import { createHash } from 'node:crypto';

/**
 * The only form of an API key that may leave memory: in logs, job data, the database and the
 * dashboard. Short enough to read, long enough that two keys of one account never collide.
 */
export function keyFingerprint(apiKey: string): string {
  return `key_${createHash('sha256').update(apiKey).digest('hex').slice(0, 10)}`;
}
