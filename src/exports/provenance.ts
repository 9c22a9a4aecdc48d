import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Coverage } from '../coverage/coverage.js';
import { MIGRATIONS_FOLDER } from '../db/migrate.js';
import { describeSelection, type Selection } from '../selection/selection.js';
import { toolVersion } from './tool-version.js';

/** How a package was made: enough to cite it, and to redo or extend the crawl behind it. */
export interface Provenance {
  tool: string;
  /** The newest migration the archive's schema has: the tables' shape the files come from. */
  schemaMigration: string | null;
  selection: ReturnType<typeof describeSelection>;
  /** When crawls first and last saw the selected videos: the period the data covers. */
  seen: { first: string | null; last: string | null };
  creditsSpent: number;
  hashtags: Array<{ id: string; name: string | null; title: string | null; coverage: Coverage }>;
  runs: Array<{
    id: number;
    hashtagId: string;
    status: string;
    mode: string;
    window: { createdAt: string; startedAt: string | null; finishedAt: string | null };
    pages: number;
    /** The cursors it was requested with, first and last, and the one it stopped at. */
    cursors: { first: string | null; last: string | null; next: string | null };
    stopReason: string | null;
    /** Credits in the ledger for this run: what was billed, whatever the run's own counter says. */
    creditsBilled: number;
    /** Crawlora's log id of each page, in page order (pages without one are left out). */
    logIds: string[];
  }>;
}

const iso = (value: Date | null) => value?.toISOString() ?? null;

function latestMigrationTag(appliedWhen: number | null): string | null {
  if (appliedWhen === null) return null;
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number; tag: string }> };
  return journal.entries.find((entry) => entry.when === appliedWhen)?.tag ?? `applied at ${new Date(appliedWhen).toISOString()} (not in this tool's migrations)`;
}

/**
 * Read on the package's connection, inside its snapshot, with the same selected-rows prefix as
 * the tables (`selectedSql`: a WITH clause defining selected, selected_hashtags, selected_runs).
 */
export async function readProvenance(
  client: pg.PoolClient,
  selection: Selection,
  selected: { text: string; values: unknown[] },
  coverageOf: (hashtagId: string) => Promise<Coverage>,
): Promise<Provenance> {
  const query = <T extends pg.QueryResultRow>(body: string) => client.query<T>(`${selected.text} ${body}`, selected.values);
  // One after another: a pg client runs one query at a time.
  const hashtags = await query<{ id: string; name: string | null; title: string | null }>(
      `select h.id, c.name, c.title from (select distinct hashtag_id as id from selected_hashtags) h left join hashtags c on c.id = h.id order by h.id`,
    );
  const runs = await query<{
      id: number;
      hashtag_id: string;
      status: string;
      mode: string;
      created_at: Date;
      started_at: Date | null;
      finished_at: Date | null;
      pages: number;
      stop_reason: string | null;
      first_cursor: string | null;
      last_cursor: string | null;
      next_cursor: string | null;
      billed: string;
      log_ids: string[];
    }>(
      `select r.id, r.hashtag_id, r.status, r.mode, r.created_at, r.started_at, r.finished_at, r.pages, r.stop_reason,
              (select p.cursor from crawl_pages p where p.run_id = r.id order by p.page_number limit 1) as first_cursor,
              (select p.cursor from crawl_pages p where p.run_id = r.id order by p.page_number desc limit 1) as last_cursor,
              (select p.next_cursor from crawl_pages p where p.run_id = r.id order by p.page_number desc limit 1) as next_cursor,
              (select coalesce(sum(l.credits), 0) from credit_ledger l where l.run_id = r.id) as billed,
              coalesce((select array_agg(p.log_id order by p.page_number) from crawl_pages p where p.run_id = r.id and p.log_id is not null), '{}') as log_ids
       from selected_runs r order by r.id`,
    );
  const seen = await query<{ first: Date | null; last: Date | null }>(`select min(first_seen_at) as first, max(last_seen_at) as last from selected`);
  const migration = await client.query<{ created_at: string }>(`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`);
  const runRows = runs.rows.map((run) => ({
    id: run.id,
    hashtagId: run.hashtag_id,
    status: run.status,
    mode: run.mode,
    window: { createdAt: run.created_at.toISOString(), startedAt: iso(run.started_at), finishedAt: iso(run.finished_at) },
    pages: run.pages,
    cursors: { first: run.first_cursor, last: run.last_cursor, next: run.next_cursor },
    stopReason: run.stop_reason,
    creditsBilled: Number(run.billed),
    logIds: run.log_ids,
  }));
  const appliedWhen = migration.rows[0] === undefined ? null : Number(migration.rows[0].created_at);
  return {
    tool: toolVersion(),
    schemaMigration: latestMigrationTag(appliedWhen),
    selection: describeSelection(selection),
    seen: { first: iso(seen.rows[0]?.first ?? null), last: iso(seen.rows[0]?.last ?? null) },
    creditsSpent: runRows.reduce((sum, run) => sum + run.creditsBilled, 0),
    hashtags: await Promise.all(hashtags.rows.map(async (row) => ({ ...row, coverage: await coverageOf(row.id) }))),
    runs: runRows,
  };
}
