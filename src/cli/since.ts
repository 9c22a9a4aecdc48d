import { ConfigError } from '../config.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Every `--since` (crawl and export): an ISO date or date-time, read as UTC unless it carries an
 * offset, so the same command means the same moment on any machine. Refuses what `Date` would
 * silently roll over (2024-02-30 is not March 1st) or read in local time.
 */
export function parseSince(raw: string): Date {
  const match = ISO_DATE.exec(raw.trim());
  const fail = () =>
    new ConfigError(`--since: '${raw}' is not a date; give one such as 2024-12-01 or 2024-12-01T18:00:00Z`);
  if (!match) throw fail();
  const [, year, month, day, hours = '0', minutes = '0', seconds = '0', millis = '0', offset = 'Z'] = match;
  const fields = [year, month, day, hours, minutes, seconds].map(Number) as [number, number, number, number, number, number];
  const utc = new Date(Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], Number(millis.padEnd(3, '0'))));
  const roundTrip = [utc.getUTCFullYear(), utc.getUTCMonth() + 1, utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds()];
  if (roundTrip.some((value, index) => value !== fields[index])) throw fail();
  const offsetMatch = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!offsetMatch) return utc;
  const [, sign, offsetHours, offsetMinutes] = offsetMatch;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) throw fail();
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === '-' ? -1 : 1);
  return new Date(utc.getTime() - offsetMs);
}
