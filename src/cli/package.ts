import { Command, Option } from 'commander';
import { hashtagCoverage } from '../db/coverage.js';
import { PACKAGE_FORMATS, checkPackageDir, writeDataPackage, type PackageFormat } from '../exports/data-package.js';
import { configFrom, withDatabase } from './context.js';
import { parseSince } from './since.js';
import { addMatchOption, resolveSelection, selectionRequest } from './selection-options.js';

interface PackageFlags {
  out: string;
  format: PackageFormat;
  since?: string;
  match?: string;
}

export function packageCommand(): Command {
  return addMatchOption(
    new Command('package')
      .description(
        'write a citable Frictionless data package of hashtags: videos, hashtag_videos, video_snapshots, crawl_runs and crawl_pages, each with its codebook and sha256, plus how the crawls were made (datapackage.json)',
      )
      .argument('[hashtags...]', 'hashtag ids or names already crawled, e.g. 3242 or #christmas (none: every archived hashtag, with --match)')
      .requiredOption('--out <dir>', 'the package directory to create (new or empty)')
      .addOption(new Option('--format <format>', 'file format of the tables').choices(PACKAGE_FORMATS).default('parquet'))
      .option('--since <date>', 'only videos created at or after this date, e.g. 2024-12-01 (UTC unless an offset is given)'),
  ).action(async (args: string[], flags: PackageFlags, command: Command) => {
    const request = selectionRequest(args, flags.match, flags.since === undefined ? null : parseSince(flags.since));
    await checkPackageDir(flags.out);
    await withDatabase(configFrom(command), async (database) => {
      const selection = await resolveSelection(database.reads, request);
      const summary = await writeDataPackage(database.readPool, {
        dir: flags.out,
        format: flags.format,
        selection,
        coverageOf: (hashtagId) => hashtagCoverage(database.reads, hashtagId),
      });
      const tables = summary.resources.map((resource) => `${resource.name} ${resource.rows.toLocaleString('en-US')}`).join(', ');
      process.stdout.write(`wrote ${summary.dir}/datapackage.json and ${summary.resources.length} tables (rows: ${tables})\n`);
    });
  });
}
