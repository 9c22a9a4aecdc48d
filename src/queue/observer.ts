/** What one upstream answer was, for metrics and charts. */
export type ResponseOutcome = 'ok' | 'rate-limited' | 'transient' | 'upstream-error' | 'invalid-input' | 'bad-key';

/**
 * Hooks the page job calls as things happen, so metrics and the dashboard's charts can count
 * without the pipeline knowing about them. Must not throw and must not block.
 */
export interface PipelineObserver {
  response(event: { outcome: ResponseOutcome; latencyMs: number; charged: boolean; keyFingerprint: string }): void;
  pageCommitted(event: { runId: number; items: number; newItems: number; commitMs: number }): void;
}

export const noopObserver: PipelineObserver = {
  response() {},
  pageCommitted() {},
};
