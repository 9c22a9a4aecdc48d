/**
 * Shows that `export` runs in constant memory: for each format (JSONL, CSV, Parquet) the peak RSS
 * of exporting 200,000 videos is compared with that of exporting 2,000 and 20,000, and the
 * 200,000 export is repeated with V8's heap capped far below the data's size. Seeds a database of
 * its own with generate_series (the real ~17 KB sample item as every row's raw jsonb, with its id
 * and caption varied), runs the real CLI in a child process with its output to /dev/null, and
 * drops the database at the end.
 *
 *   npm run bench:export
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import Table from 'cli-table3';
import type { Db } from '../src/db/client.js';
import { EXPORT_FORMATS, type ExportFormat } from '../src/db/export-rows.js';
import { freshDatabase, freshPrefix } from '../test/support/services.js';

const BIN = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));
const SAMPLE_ITEM = fileURLToPath(new URL('../src/sim/fixtures/sample-item.json', import.meta.url));

/**
 * Smallest first: the first is the baseline, the last the export that must not need more.
 * HA_BENCH_EXPORT_ROWS=2000,20000,200000,1000000 adds sizes (seeding takes about a minute per
 * 100,000 rows here, and each row is ~17 KB of Postgres disk).
 */
const SIZES = parseList('HA_BENCH_EXPORT_ROWS', '2000,20000,200000')
  .map(Number)
  .sort((a, b) => a - b)
  .map((rows, index) => {
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`HA_BENCH_EXPORT_ROWS: '${rows}' is not a row count; give e.g. 2000,20000,200000`);
    return { hashtagId: String(500_001 + index), rows };
  });
/**
 * V8 grows its heap when it may, so RSS alone cannot tell "needs" from "was allowed": under this
 * cap an export that held its rows (3 GB of them) would die out of memory.
 */
const CAPPED_HEAP_MB = 64;

/** HA_BENCH_EXPORT_FORMATS=parquet measures one format without the others' minutes. */
const BENCH_FORMATS = parseList('HA_BENCH_EXPORT_FORMATS', EXPORT_FORMATS.join(',')).map((format) => {
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`HA_BENCH_EXPORT_FORMATS: '${format}' is not an export format; give some of ${EXPORT_FORMATS.join(', ')}`);
  }
  return format as ExportFormat;
});

function parseList(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * The child's own peak RSS, written to stderr as it exits: nothing in the export command is
 * there for the benchmark, and nothing is lost to sampling.
 */
const REPORT_PEAK_RSS = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(2, `peak-rss-kb=${process.resourceUsage().maxRSS}\\n`));",
)}`;

interface Measurement {
  rows: number;
  format: ExportFormat;
  heapCapMb: number | null;
  seconds: number;
  peakRssMb: number;
}

async function main(): Promise<void> {
  const database = await freshDatabase();
  const prefix = freshPrefix();
  try {
    const seedStartMs = Date.now();
    await seed(database.database.db, readFileSync(SAMPLE_ITEM, 'utf8'));
    const rawBytes = await averageRawBytes(database.database.db);
    const largest = SIZES[SIZES.length - 1]!;
    process.stdout.write(
      `seeded ${SIZES.reduce((sum, size) => sum + size.rows, 0).toLocaleString('en-US')} videos (raw jsonb ~${Math.round(rawBytes / 1024)} KB each) ` +
        `in ${((Date.now() - seedStartMs) / 1000).toFixed(1)} s\n`,
    );
    const env = { DATABASE_URL: database.url, HA_QUEUE_PREFIX: prefix.prefix };
    const results: Measurement[] = [];
    for (const format of BENCH_FORMATS) {
      for (const size of SIZES) results.push(await measure(size, format, env, null));
      results.push(await measure(largest, format, env, CAPPED_HEAP_MB));
    }
    const table = new Table({ head: ['rows', 'format', 'heap cap', 'seconds', 'rows/s', 'peak RSS MB'], style: { head: [], border: [] } });
    for (const result of results) {
      table.push([
        result.rows.toLocaleString('en-US'),
        result.format,
        result.heapCapMb === null ? '-' : `${result.heapCapMb} MB`,
        result.seconds.toFixed(1),
        Math.round(result.rows / result.seconds).toLocaleString('en-US'),
        Number.isNaN(result.peakRssMb) ? 'out of memory' : result.peakRssMb.toFixed(0),
      ]);
    }
    process.stdout.write(`${table.toString()}\n`);
    for (const format of BENCH_FORMATS) {
      const uncapped = results.filter((result) => result.format === format && result.heapCapMb === null);
      const [small, large] = [uncapped[0]!, uncapped[uncapped.length - 1]!];
      process.stdout.write(
        `${format}: ${large.rows / small.rows}x the rows, ${(large.peakRssMb / small.peakRssMb).toFixed(2)}x the peak RSS ` +
          `(baseline ${small.peakRssMb.toFixed(0)} MB at ${small.rows.toLocaleString('en-US')} rows)\n`,
      );
    }
  } finally {
    await prefix.clear();
    await database.drop();
  }
}

async function seed(db: Db, sampleJson: string): Promise<void> {
  for (const [offset, { hashtagId, rows }] of SIZES.entries()) {
    // Ids are 19 digits like TikTok's; each hashtag gets its own range.
    const firstId = 7_000_000_000_000_000_000n + BigInt(offset) * 1_000_000_000n;
    await db.execute(sql`
      insert into videos (id, author_id, author_unique_id, description, create_time,
                          play_count, digg_count, comment_count, share_count, collect_count, music_id, raw)
      select g.id, '6' || lpad((g.i % 997)::text, 18, '0'), 'creator_' || (g.i % 997), g.description,
             timestamptz '2024-12-01' - g.i * interval '1 minute',
             (g.i::bigint * 7919) % 5000000, (g.i * 31) % 200000, g.i % 5000, g.i % 3000, g.i % 10000,
             '70' || lpad((g.i % 7)::text, 17, '0'),
             jsonb_set(jsonb_set(${sampleJson}::jsonb, '{id}', to_jsonb(g.id)), '{desc}', to_jsonb(g.description))
      from (
        select i, (${firstId.toString()}::numeric + i)::text as id,
               'video ' || i || ', "quoted" 🎄 #tag' || ${hashtagId}::text as description
        from generate_series(1, ${rows}::int) as i
      ) as g`);
    await db.execute(sql`
      insert into hashtag_videos (hashtag_id, video_id)
      select ${hashtagId}::text, (${firstId.toString()}::numeric + i)::text from generate_series(1, ${rows}::int) as i`);
  }
  await db.execute(sql`analyze`);
}

async function averageRawBytes(db: Db): Promise<number> {
  const result = await db.execute<{ bytes: number }>(sql`select avg(length(raw::text))::int as bytes from videos tablesample system (1)`);
  return result.rows[0]?.bytes ?? 0;
}

async function measure(
  target: { hashtagId: string; rows: number },
  format: ExportFormat,
  env: Record<string, string>,
  heapCapMb: number | null,
): Promise<Measurement> {
  const devNull = openSync('/dev/null', 'w');
  const startedMs = Date.now();
  try {
    const heapFlags = heapCapMb === null ? [] : [`--max-old-space-size=${heapCapMb}`];
    // Parquet is a file, not a stream of lines: a device is written in place, like stdout.
    const out = format === 'parquet' ? ['--out', '/dev/null'] : [];
    const child = spawn(process.execPath, [...heapFlags, '--import', REPORT_PEAK_RSS, BIN, 'export', target.hashtagId, '--format', format, ...out], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', devNull, 'pipe'],
    });
    let stderr = '';
    // stdio[2] is 'pipe', so there is a stream.
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const peak = /peak-rss-kb=(\d+)/.exec(stderr);
    // Under the heap cap, running out is a result to show, not a reason to lose the other rows.
    if (heapCapMb !== null && stderr.includes('heap out of memory')) {
      return { rows: target.rows, format, heapCapMb, seconds: (Date.now() - startedMs) / 1000, peakRssMb: Number.NaN };
    }
    if (code !== 0 || !peak) throw new Error(`export ${target.hashtagId} --format ${format} exited ${code}: ${stderr}`);
    return { rows: target.rows, format, heapCapMb, seconds: (Date.now() - startedMs) / 1000, peakRssMb: Number(peak[1]) / 1024 };
  } finally {
    closeSync(devNull);
  }
}

await main();
