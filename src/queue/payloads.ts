/** The data of one page job. Never holds an API key: workers take keys from their own config. */
export interface PageJobData {
  runId: number;
  hashtagId: string;
  /** 0-based page number within the run. */
  pageNumber: number;
  cursor: string;
  /** Empty pages, and pages without new videos, in a row before this one (see decideAfterPage). */
  emptyStreak: number;
  /** Absent in jobs queued before incremental mode existed. */
  staleStreak?: number;
  /** The run's generation when the job was made; a resume starts a new one. */
  generation: number;
  /** Carried from page to page, so a whole run keeps the priority it was started with. */
  priority?: number;
}
