/** The one queue: a job per hashtag page. */
export const PAGES_QUEUE = 'pages';

/**
 * Deterministic, so adding the job twice (a retried or stalled predecessor) is a no-op rather
 * than a fork of the chain. BullMQ refuses ':' in custom ids, hence '-'.
 */
export function pageJobId(runId: number, generation: number, pageNumber: number): string {
  return `run-${runId}-g${generation}-p${pageNumber}`;
}
