import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promisify } from 'node:util';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { WebhookInputError } from './errors.js';

/**
 * Link-local IPv4 (169.254.0.0/16, where clouds serve instance metadata and credentials) and
 * AWS's IPv6 metadata address. Loopback and private networks stay allowed: self-hosted
 * receivers live there.
 */
const REFUSED = new BlockList();
REFUSED.addSubnet('169.254.0.0', 16, 'ipv4');
REFUSED.addAddress('fd00:ec2::254', 'ipv6');

const ALLOW_HINT = 'set HA_WEBHOOK_ALLOW_PRIVATE=true to allow it';

/** Whether an address is one an endpoint may not resolve to; IPv4 written as IPv6 (::ffff:a.b.c.d) counts as IPv4. */
export function isRefusedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return REFUSED.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return REFUSED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL webhooks may be sent to, before any lookup: http(s) only. */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookInputError(`webhook url '${raw}' is not a URL; give e.g. https://example.com/hooks/archiver`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookInputError(`webhook url '${raw}': only http:// and https:// endpoints are allowed, not ${url.protocol}//`);
  }
  return url;
}

const lookupAll = promisify(dnsLookup);

/**
 * Refuses an endpoint that is not http(s) or whose host resolves to a refused address (SSRF),
 * unless `allowPrivate`. Checked at `webhook add`; every delivery checks again where it connects
 * (see guardedLookup), since a name can resolve elsewhere later.
 */
export async function checkEndpoint(raw: string, allowPrivate: boolean): Promise<URL> {
  const url = parseEndpointUrl(raw);
  if (allowPrivate) return url;
  const host = hostOf(url);
  let addresses: LookupAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookupAll(host, { all: true });
  } catch (err) {
    throw new WebhookInputError(`webhook url '${raw}': host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'}); check the name`, 'bad-input', { cause: err });
  }
  const refused = addresses.find((entry) => isRefusedAddress(entry.address));
  if (refused) throw new WebhookInputError(refusal(host, refused.address));
  return url;
}

/** The URL's host without IPv6 brackets, as lookups and isIP want it. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function refusal(host: string, address: string): string {
  const where = host === address ? host : `${host} (${address})`;
  return `webhook endpoint ${where} is a link-local or cloud-metadata address, refused against SSRF; ${ALLOW_HINT}`;
}

/** The delivery side of the guard: an error for a literal address in the URL, which never goes through a lookup. */
export function refusedLiteral(url: URL): string | null {
  const host = hostOf(url);
  return isIP(host) !== 0 && isRefusedAddress(host) ? refusal(host, host) : null;
}

/**
 * A `lookup` for the delivery connections: resolves as usual and fails on a refused address, so
 * the address checked is the one connected to (a name re-pointed after `add` is caught too).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options, (err, address, family) => {
    if (err) return callback(err, address, family);
    const list: LookupAddress[] = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
    const refused = list.find((entry) => isRefusedAddress(entry.address));
    if (refused) return callback(Object.assign(new Error(refusal(hostname, refused.address)), { code: 'EWEBHOOKREFUSED' }), address, family);
    callback(null, address, family);
  });
};
