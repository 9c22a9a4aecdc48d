import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { ConfigError } from '../config.js';
import { EXPORT_FORMATS, formatRows, withExportRows, type ExportFormat } from '../db/export-rows.js';
import { coHashtagGraph } from '../exports/cohashtags.js';
import { GRAPH_FORMATS, graphDocument, type GraphFormat } from '../exports/graph-files.js';
import { configFrom, withDatabase } from './context.js';
import { parseSince } from './since.js';
import { addMatchOption, resolveSelection, selectionRequest } from './selection-options.js';

const FORMATS = [...EXPORT_FORMATS, ...GRAPH_FORMATS] as const;
type Format = (typeof FORMATS)[number];
const NETWORKS = ['cohashtags'] as const;

interface ExportFlags {
  format: Format;
  network?: (typeof NETWORKS)[number];
  out?: string;
  since?: string;
  match?: string;
  missing?: boolean;
}

/** How often the TTY progress line is redrawn. */
const PROGRESS_INTERVAL_MS = 1_000;

export function exportCommand(): Command {
  return addMatchOption(
    new Command('export')
      .description(
        'write the archived videos of hashtags as JSONL (raw items), CSV (typed columns) or Parquet (typed columns and raw items), ordered by hashtag then video id; or their co-hashtag network as GEXF or GraphML',
      )
      .argument('[hashtags...]', 'hashtag ids or names already crawled, e.g. 3242 or #christmas (none: every archived hashtag, with --match)')
      .addOption(
        new Option(
          '--format <format>',
          'jsonl: one raw item per line; csv: typed columns with a header; parquet: typed columns plus raw, needs --out; gexf, graphml: with --network',
        )
          .choices(FORMATS)
          .makeOptionMandatory(),
      )
      .addOption(new Option('--network <kind>', 'cohashtags: a node per hashtag, an edge per pair weighted by the videos carrying both (--format gexf or graphml)').choices(NETWORKS))
      .option('--out <file>', 'write to this file (replaced only once the export is complete) instead of stdout')
      .option('--since <date>', 'only videos created at or after this date, e.g. 2024-12-01 or 2024-12-01T18:00:00+01:00 (UTC unless an offset is given)')
      .option('--missing', 'only videos the last complete full crawl no longer listed (taken down or gone from the feed; missing_since set)'),
  ).action(async (args: string[], flags: ExportFlags, command: Command) => {
    const request = selectionRequest(args, flags.match, flags.since === undefined ? null : parseSince(flags.since));
    const format = checkFormat(flags);
    const out = flags.out === undefined ? undefined : await checkOutPath(flags.out);
    await withDatabase(configFrom(command), async (database) => {
      const selection = await resolveSelection(database.reads, request);
      if (format.kind === 'network') {
        const document = graphDocument(await coHashtagGraph(database.readPool, selection), format.format);
        const write = (output: Writable, signal: AbortSignal) => pipeline(Readable.from([document]), output, { signal });
        await (out === undefined ? writeToStdout(write) : writeToFile(out, write));
        return;
      }
      const progress = process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
      await withExportRows(database.readPool, { format: format.format, selection, missingOnly: flags.missing === true }, (rows) => {
        const write = (output: Writable, signal: AbortSignal) =>
          pipeline(rows, countRows(progress), formatRows(format.format), output, { signal });
        return out === undefined ? writeToStdout(write) : writeToFile(out, write);
      });
      progress?.finish();
    });
  });
}

type CheckedFormat = { kind: 'rows'; format: ExportFormat } | { kind: 'network'; format: GraphFormat };

/** The format and --network must agree: a network is a graph file, rows are not. */
function checkFormat({ format, network, out }: ExportFlags): CheckedFormat {
  const isGraph = (GRAPH_FORMATS as readonly string[]).includes(format);
  if (network !== undefined && !isGraph) throw new ConfigError(`--network ${network} writes a graph; give --format gexf or --format graphml`);
  if (network === undefined && isGraph) throw new ConfigError(`--format ${format} is a graph file; add --network cohashtags`);
  if (format === 'parquet' && out === undefined) {
    throw new ConfigError('--format parquet writes a binary file; give it with --out FILE, e.g. --out videos.parquet');
  }
  return isGraph ? { kind: 'network', format: format as GraphFormat } : { kind: 'rows', format: format as ExportFormat };
}

type WriteExport = (output: Writable, signal: AbortSignal) => Promise<void>;

/**
 * A reader that stops early (`| head`) closes the pipe: that is not a failure, the export simply
 * ends there, without a stack trace.
 */
async function writeToStdout(write: WriteExport): Promise<void> {
  await withInterruption(async (signal) => {
    try {
      await write(process.stdout, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
  });
}

interface OutPath {
  path: string;
  /** A device or pipe (`--out /dev/null`) is written in place: renaming over it would replace it. */
  inPlace: boolean;
}

/** Refuses a path the export could only fail on, before anything is queried. */
async function checkOutPath(path: string): Promise<OutPath> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new ConfigError(`--out: '${path}' is a directory; give a file name inside it`);
  if (existing) return { path, inPlace: !existing.isFile() };
  const parent = await stat(dirname(path)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new ConfigError(`--out: directory '${dirname(path)}' does not exist; create it or give another path`);
  return { path, inPlace: false };
}

/**
 * Writes next to the target and renames over it once complete and on disk, so the final name
 * only ever holds a whole export; a failed or interrupted one leaves no file behind.
 */
async function writeToFile({ path, inPlace }: OutPath, write: WriteExport): Promise<void> {
  if (inPlace) {
    await withInterruption((signal) => write(createWriteStream(path), signal));
    return;
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // flush: fsync before close, so the rename never publishes a file whose bytes are not on disk yet.
    await withInterruption((signal) => write(createWriteStream(temp, { flush: true }), signal));
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Ctrl-C aborts the copy, so the cleanup above runs before withDatabase's own handler exits the
 * process (it waits for the export's connection to return to the pool).
 */
async function withInterruption(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    await work(controller.signal);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

function countRows(progress: ProgressLine | undefined): Transform {
  return new Transform({
    objectMode: true,
    transform(row: unknown, _encoding, done) {
      progress?.add(1);
      done(null, row);
    },
  });
}

/** Rows written and the rate so far, redrawn in place on a terminal. */
class ProgressLine {
  private rows = 0;
  private readonly startedMs = Date.now();
  private drawnMs = this.startedMs;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  add(rows: number): void {
    this.rows += rows;
    const nowMs = Date.now();
    if (nowMs - this.drawnMs >= PROGRESS_INTERVAL_MS) {
      this.drawnMs = nowMs;
      this.stream.write(`\r${progressText(this.rows, nowMs - this.startedMs)}`);
    }
  }

  finish(): void {
    this.stream.write(`\r${progressText(this.rows, Date.now() - this.startedMs)}\n`);
  }
}

export function progressText(rows: number, elapsedMs: number): string {
  const perSecond = elapsedMs > 0 ? Math.round((rows * 1000) / elapsedMs) : rows;
  return `exported ${rows.toLocaleString('en-US')} rows (${perSecond.toLocaleString('en-US')} rows/s)`;
}
