/** A time in tables: ISO 8601 in UTC to the second; '-' for none. */
export function formatTime(time: Date | null): string {
  return time ? time.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}
