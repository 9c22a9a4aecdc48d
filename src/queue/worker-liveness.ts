/**
 * Which worker processes are alive: each beats into a sorted set scored by Redis's clock (see
 * in-flight.ts). A worker silent for WORKER_SILENT_MS is taken for dead: its claims on pages in
 * flight may be taken over, and what it noted as in flight goes to the ledger as uncertain.
 */
export const BEAT_EVERY_MS = 1_000;
/** Five beats missed: a stalled event loop of a few seconds still counts as alive. */
export const WORKER_SILENT_MS = 5 * BEAT_EVERY_MS;

export function liveWorkersKey(keyPrefix: string): string {
  return `${keyPrefix}:workers`;
}

export function isLive(lastBeatMs: number | undefined, nowMs: number): boolean {
  return lastBeatMs !== undefined && lastBeatMs >= nowMs - WORKER_SILENT_MS;
}
