/**
 * A key of one API key's state (its rate and its credit counters), hash-tagged by the key's
 * fingerprint: on Redis Cluster the state of many API keys spreads over the masters instead of
 * all sitting on the node of the queue's `{ha}` slot, and a script touching one API key's keys
 * still finds them in one slot. The queue prefix, braces removed (Redis hashes on the first
 * `{…}` only), keeps prefixes apart.
 *
 * Where keys live: `{ha}:…` (BullMQ's queues, the reconciler's lock and marker, live settings,
 * disabled keys, held answers, activity counters) in the prefix's slot; `ha:rate:{fp}…` and
 * `ha:credits:{fp}:…` in the slot of each API key's fingerprint.
 */
export function apiKeyScoped(keyPrefix: string, fingerprint: string, name: string): string {
  return `${untaggedPrefix(keyPrefix)}:${name}:{${fingerprint}}`;
}

/** The prefix without its hash-tag braces: what every API-key-scoped key starts with. */
export function untaggedPrefix(keyPrefix: string): string {
  return keyPrefix.replace(/[{}]/g, '');
}
