import Table from 'cli-table3';
import { coverageCell, type Coverage } from '../coverage/coverage.js';
import type { CrawlRun } from '../db/schema.js';

/** `coverage`: by run id, shown beside the newest run of each hashtag (see coverageOfLatestRuns). */
export function renderRunsTable(runs: CrawlRun[], nowMs = Date.now(), coverage: ReadonlyMap<number, Coverage> = new Map()): string {
  const table = new Table({
    head: ['run', 'hashtag', 'status', 'pages', 'items', 'new', 'credits', 'age', 'coverage', 'note'],
    style: { head: [], border: [] },
  });
  for (const run of runs) {
    table.push([
      run.id,
      run.hashtagId,
      run.status,
      run.pages,
      run.items,
      run.newItems,
      run.credits,
      formatAge(nowMs - run.createdAt.getTime()),
      coverageNote(coverage.get(run.id)),
      (run.status === 'failed' || run.status === 'running' ? run.lastError : run.stopReason) ?? '',
    ]);
  }
  return table.toString();
}

function coverageNote(coverage: Coverage | undefined): string {
  if (!coverage) return '';
  return coverage.explanation ? `${coverageCell(coverage)}\n${coverage.explanation}` : coverageCell(coverage);
}

export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d`;
}
