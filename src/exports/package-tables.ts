import type { Statement } from '../db/query-stream.js';
import { selectionCondition, type Selection } from '../selection/selection.js';
import { SqlParams } from '../selection/sql-params.js';
import { FIELDS, VIDEO_EXPORT_FIELDS, type Field, type FieldType } from './fields.js';

/** One table of a data package: its resource name (a contract), codebook and rows. */
export interface PackageTable {
  name: 'videos' | 'hashtag_videos' | 'video_snapshots' | 'crawl_runs' | 'crawl_pages';
  description: string;
  fields: readonly Field[];
  primaryKey: string[];
  foreignKeys: Array<{ fields: string[]; reference: { resource: string; fields: string[] } }>;
  /** Every row in a total order, so the same archive always gives the same bytes. */
  statement(selection: Selection): Statement;
}

const field = (name: string, type: FieldType, description: string, required = false): Field => ({ name, type, description, ...(required ? { required } : {}) });

/**
 * The selected (hashtag, video) rows, and the hashtags they are of: those given, or those the
 * rows are under. Each statement recomputes them inside the package's one snapshot.
 */
function withSelected(selection: Selection, params: SqlParams): string {
  const where = selectionCondition(selection, params, { hashtagVideos: 'hv', videos: 'v' });
  const given = selection.hashtagIds === null ? '' : `select unnest(${params.add(selection.hashtagIds, 'text[]')}) union `;
  return `with selected as (select hv.* from hashtag_videos hv join videos v on v.id = hv.video_id where ${where}),
    selected_hashtags(hashtag_id) as (${given}select hashtag_id from selected),
    selected_runs as (select r.* from crawl_runs r where r.hashtag_id in (select * from selected_hashtags))`;
}

/** The WITH clause alone, for queries over the same selection (the provenance). */
export function selectedPrefix(selection: Selection): Statement {
  const params = new SqlParams();
  return { text: withSelected(selection, params), values: params.values };
}

function statementOf(build: (params: SqlParams) => string): (selection: Selection) => Statement {
  return (selection) => {
    const params = new SqlParams();
    const prefix = withSelected(selection, params);
    return { text: `${prefix} ${build(params)}`, values: params.values };
  };
}

const columns = (fields: readonly Field[], alias: string, asText: Partial<Record<string, string>> = {}) =>
  fields.map((column) => asText[column.name] ?? `${alias}.${column.name}`).join(', ');

/** The export's columns without the hashtag: here each video is one row, and hashtag_videos says under which. */
const VIDEO_FIELDS: readonly Field[] = VIDEO_EXPORT_FIELDS.filter((column) => column !== FIELDS.hashtagId);

const HASHTAG_VIDEO_FIELDS: readonly Field[] = [
  FIELDS.hashtagId,
  FIELDS.videoRef,
  { ...FIELDS.firstSeenAt, description: 'when a crawl first found the video under this hashtag (UTC)' },
  { ...FIELDS.lastSeenAt, description: 'when a crawl last found the video under this hashtag (UTC)' },
  FIELDS.runRef,
  FIELDS.lastRunRef,
  FIELDS.missingSince,
];

const SNAPSHOT_FIELDS: readonly Field[] = [
  FIELDS.videoRef,
  FIELDS.capturedAt,
  FIELDS.snapshotRun,
  FIELDS.playCount,
  FIELDS.diggCount,
  FIELDS.commentCount,
  FIELDS.shareCount,
  FIELDS.collectCount,
].map((column) => (column.name.endsWith('_count') ? { ...column, description: column.description.replace('at the last sighting', 'at this sighting') } : column));

const RUN_FIELDS: readonly Field[] = [
  FIELDS.runKey,
  FIELDS.runHashtag,
  field('status', 'string', 'queued, running, paused, completed, failed or cancelled, when the package was made', true),
  field('mode', 'string', 'full: every page until the feed ends; incremental: stops once pages bring no new video', true),
  field('trigger', 'string', 'what started it: cli, schedule or api', true),
  field('pages', 'integer', 'pages committed', true),
  field('items', 'integer', 'items the pages listed', true),
  field('new_items', 'integer', 'videos new to the hashtag in the archive', true),
  field('credits', 'integer', 'Crawlora credits the run spent (8 a page)', true),
  field('max_pages', 'integer', 'the page limit asked for; empty: none'),
  field('max_items', 'integer', 'the item limit asked for; empty: none'),
  field('budget_credits', 'integer', 'the credit budget asked for; empty: none'),
  field('since', 'datetime', 'incremental runs: stop at items created before this'),
  field('pass_group', 'integer', 'repeated passes (crawl --passes): the id of the series, shared by its runs'),
  field('pass_number', 'integer', 'repeated passes: this run is pass N of the series'),
  field('passes', 'integer', 'repeated passes: how many were asked for'),
  field('min_new_ratio', 'number', 'repeated passes: the series ends after a pass adding fewer new videos than this share'),
  field('stop_reason', 'string', 'why it stopped, e.g. end: the feed said hasMore false'),
  field('last_error', 'string', 'the error that failed it, if one did'),
  field('created_at', 'datetime', 'when it was asked for (UTC)', true),
  field('started_at', 'datetime', 'its first page fetch (UTC)'),
  field('finished_at', 'datetime', 'when it ended (UTC)'),
];

const PAGE_FIELDS: readonly Field[] = [
  field('run_id', 'integer', 'the crawl run (crawl_runs.id)', true),
  field('page_number', 'integer', 'position of the page in the run, from 1', true),
  field('cursor', 'string', 'the cursor the page was requested with (0 for the first)', true),
  field('next_cursor', 'string', 'the cursor Crawlora returned for the next page; empty: the run stopped after this page'),
  field('has_more', 'boolean', "Crawlora's hasMore for this page", true),
  field('item_count', 'integer', 'items the page listed', true),
  field('new_items', 'integer', 'of those, videos new to the hashtag in the archive', true),
  field('stop_reason', 'string', 'why the run stopped after this page; empty when it went on'),
  field('log_id', 'string', "Crawlora's log id of the response (data.extra.logid, else data.log_pb.impr_id), for support requests"),
  field('fatal_item_ids', 'array', 'ids of items TikTok listed on this page but failed to load (data.extra.fatal_item_ids), as a JSON array: gaps, not errors'),
  field('fetched_at', 'datetime', 'when the page was committed (UTC)', true),
];

export const PACKAGE_TABLES: readonly PackageTable[] = [
  {
    name: 'videos',
    description: 'Each selected video once: typed columns as last seen, and the whole item as Crawlora served it.',
    fields: VIDEO_FIELDS,
    primaryKey: ['id'],
    foreignKeys: [],
    statement: statementOf(
      () => `select ${columns(VIDEO_FIELDS, 'v', { raw: 'v.raw::text as raw' })} from videos v where v.id in (select video_id from selected) order by v.id`,
    ),
  },
  {
    name: 'hashtag_videos',
    description: 'Which video is archived under which hashtag, and when crawls found it there.',
    fields: HASHTAG_VIDEO_FIELDS,
    primaryKey: ['hashtag_id', 'video_id'],
    foreignKeys: [
      { fields: ['video_id'], reference: { resource: 'videos', fields: ['id'] } },
      { fields: ['run_id'], reference: { resource: 'crawl_runs', fields: ['id'] } },
      { fields: ['last_run_id'], reference: { resource: 'crawl_runs', fields: ['id'] } },
    ],
    statement: statementOf(() => `select ${columns(HASHTAG_VIDEO_FIELDS, 'hv')} from selected hv order by hv.hashtag_id, hv.video_id`),
  },
  {
    name: 'video_snapshots',
    description: "A selected video's counts at each sighting, oldest first: how plays, likes, comments, shares and saves grew.",
    fields: SNAPSHOT_FIELDS,
    primaryKey: [],
    foreignKeys: [{ fields: ['video_id'], reference: { resource: 'videos', fields: ['id'] } }],
    statement: statementOf(
      () =>
        `select ${columns(SNAPSHOT_FIELDS, 's')} from video_snapshots s where s.video_id in (select video_id from selected)
         order by s.video_id, s.captured_at, s.run_id nulls first, s.id`,
    ),
  },
  {
    name: 'crawl_runs',
    description: 'Every crawl run of the selected hashtags: what was asked, what it fetched and spent, and why it stopped.',
    fields: RUN_FIELDS,
    primaryKey: ['id'],
    foreignKeys: [],
    statement: statementOf(() => `select ${columns(RUN_FIELDS, 'r')} from selected_runs r order by r.id`),
  },
  {
    name: 'crawl_pages',
    description: 'Every page those runs committed: the cursor it was requested with, what it listed, and the upstream log id.',
    fields: PAGE_FIELDS,
    primaryKey: ['run_id', 'page_number'],
    foreignKeys: [{ fields: ['run_id'], reference: { resource: 'crawl_runs', fields: ['id'] } }],
    statement: statementOf(
      () =>
        `select ${columns(PAGE_FIELDS, 'p', { fatal_item_ids: 'to_json(p.fatal_item_ids)::text as fatal_item_ids' })}
         from crawl_pages p where p.run_id in (select id from selected_runs) order by p.run_id, p.page_number`,
    ),
  },
];
