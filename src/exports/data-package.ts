import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type pg from 'pg';
import { ConfigError } from '../config.js';
import type { Coverage } from '../coverage/coverage.js';
import { queryStream, withConnection } from '../db/query-stream.js';
import type { Selection } from '../selection/selection.js';
import type { Field } from './fields.js';
import { PACKAGE_TABLES, selectedPrefix, type PackageTable } from './package-tables.js';
import { parquetRows } from './parquet.js';
import { readProvenance } from './provenance.js';
import { toolVersion } from './tool-version.js';

export const PACKAGE_FORMATS = ['parquet', 'csv'] as const;
export type PackageFormat = (typeof PACKAGE_FORMATS)[number];

export interface PackageRequest {
  dir: string;
  format: PackageFormat;
  selection: Selection;
  /** A hashtag's coverage (issue 17's figures), read beside the snapshot. */
  coverageOf: (hashtagId: string) => Promise<Coverage>;
}

/** What was written, for the command's summary line. */
export interface PackageSummary {
  dir: string;
  resources: Array<{ name: string; path: string; rows: number; bytes: number }>;
}

const MEDIA_TYPES: Record<PackageFormat, string> = { parquet: 'application/vnd.apache.parquet', csv: 'text/csv' };

/** Refuses a target that would mix this package with other files. */
export async function checkPackageDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new ConfigError(`--out: '${dir}' is a file; give a directory (it is created)`);
  if (existing && (await readdir(dir)).length > 0) throw new ConfigError(`--out: '${dir}' is not empty; give a new or empty directory`);
  const parent = await stat(dirname(dir)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new ConfigError(`--out: directory '${dirname(dir)}' does not exist; create it or give another path`);
}

/** Counts and hashes the bytes going past: a resource's `bytes` and `hash`. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  rows = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }
}

function rowCounter(digest: Digest): Transform {
  return new Transform({
    objectMode: true,
    transform(row: unknown, _encoding, done) {
      digest.rows += 1;
      done(null, row);
    },
  });
}

/** Frictionless's CSV: a header, ISO 8601 times, true/false, empty for null; values kept exact. */
function csvRows(fields: readonly Field[]): Transform {
  return stringify({
    header: true,
    columns: fields.map((column) => column.name),
    cast: { date: (value) => value.toISOString(), boolean: (value) => (value ? 'true' : 'false') },
  });
}

function tableSchema(table: PackageTable) {
  return {
    fields: table.fields.map(({ name, type, description, required }) => ({
      name,
      type,
      description,
      ...(required ? { constraints: { required: true } } : {}),
    })),
    ...(table.primaryKey.length > 0 ? { primaryKey: table.primaryKey } : {}),
    ...(table.foreignKeys.length > 0 ? { foreignKeys: table.foreignKeys } : {}),
  };
}

function packageName(selection: Selection): string {
  const ids = selection.hashtagIds === null ? 'selection' : [...selection.hashtagIds].sort().join('-');
  return `tiktok-hashtags-${ids}`.slice(0, 200);
}

/**
 * Writes the package into a temporary directory beside `dir`, in one REPEATABLE READ snapshot, and
 * renames it into place once every file is complete. Every row order is total and nothing in the
 * files records when they were made, so packaging the same archive twice gives the same bytes.
 */
export async function writeDataPackage(pool: pg.Pool, request: PackageRequest): Promise<PackageSummary> {
  const temp = join(dirname(request.dir), `.${basename(request.dir)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(join(temp, 'data'), { recursive: true });
    const descriptor = await withConnection(pool, async (client) => {
      await client.query('begin isolation level repeatable read read only');
      try {
        const resources = [];
        for (const table of PACKAGE_TABLES) resources.push(await writeResource(client, table, request, temp));
        const provenance = await readProvenance(client, request.selection, selectedPrefix(request.selection), request.coverageOf);
        await client.query('commit');
        return { resources, provenance };
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
    });
    const { hashtagIds, match } = descriptor.provenance.selection;
    const names = descriptor.provenance.hashtags.map((hashtag) => (hashtag.name === null ? hashtag.id : `#${hashtag.name}`));
    const datapackage = {
      $schema: 'https://datapackage.org/profiles/2.0/datapackage.json',
      name: packageName(request.selection),
      title: `TikTok videos archived under ${names.join(', ') || 'no hashtag'}${match === null ? '' : `, matching ${match}`}`,
      description:
        `Videos listed under TikTok hashtags, archived through the Crawlora API by ${toolVersion()}` +
        `${hashtagIds === null ? ' (every archived hashtag searched)' : ''}. See provenance for the crawls behind it.`,
      sources: [{ title: 'TikTok hashtag feeds, through the Crawlora API', path: 'https://crawlora.net' }],
      resources: descriptor.resources.map(({ table, path, digest }) => ({
        name: table.name,
        type: 'table',
        path,
        format: request.format,
        mediatype: MEDIA_TYPES[request.format],
        ...(request.format === 'csv' ? { encoding: 'utf-8' } : {}),
        bytes: digest.bytes,
        hash: `sha256:${digest.hash.digest('hex')}`,
        description: `${table.description} ${digest.rows.toLocaleString('en-US')} rows.`,
        schema: tableSchema(table),
      })),
      provenance: descriptor.provenance,
    };
    await writeFile(join(temp, 'datapackage.json'), `${JSON.stringify(datapackage, null, 2)}\n`, { flush: true });
    // An empty directory given as --out is replaced by the complete package.
    await rmdir(request.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(temp, request.dir);
    return {
      dir: request.dir,
      resources: datapackage.resources.map((resource, index) => ({
        name: resource.name,
        path: resource.path,
        rows: descriptor.resources[index]!.digest.rows,
        bytes: resource.bytes,
      })),
    };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function writeResource(client: pg.PoolClient, table: PackageTable, request: PackageRequest, root: string) {
  const path = `data/${table.name}.${request.format}`;
  const digest = new Digest();
  const format = request.format === 'parquet' ? parquetRows(table.fields, { createdBy: toolVersion() }) : csvRows(table.fields);
  await pipeline(queryStream(client, table.statement(request.selection)), rowCounter(digest), format, digest, createWriteStream(join(root, path), { flush: true }));
  return { table, path, digest };
}
