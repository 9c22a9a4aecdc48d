import Table from 'cli-table3';
import type { CrawlRun } from '../db/schema.js';

export function renderRunsTable(runs: CrawlRun[], nowMs = Date.now()): string {
  const table = new Table({
    head: ['run', 'hashtag', 'status', 'pages', 'items', 'new', 'credits', 'age', 'note'],
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
      (run.status === 'failed' || run.status === 'running' ? run.lastError : run.stopReason) ?? '',
    ]);
  }
  return table.toString();
}

export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d`;
}
