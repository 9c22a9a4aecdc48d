import { sql, type SQL } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { hasTagSql, insertTaggedVideos, TAGS } from './support/tagged-videos.js';

const t = useCrawlEnvironment({ app: false });

beforeAll(async () => {
  await insertTaggedVideos(t.database.database.db);
});

/** The product resolves cached names to ids; ad, xmas and snow are not cached, so only their names are known. */
const has = (name: (typeof TAGS)[number]['name']) => {
  const cached = ['christmas', 'fyp', 'foryou'].includes(name);
  return hasTagSql({ id: cached ? TAGS.find((tag) => tag.name === name)!.id : null, name });
};
const hasId = (id: string) => hasTagSql({ id, name: null });
/** Every archived video: the universe a NOT is taken against. */
const ALL = sql`(select video_id as id from hashtag_videos)`;

async function sqlIds(query: SQL): Promise<string[]> {
  const result = await t.database.database.db.execute<{ id: string }>(sql`select distinct id from ${query} s order by id`);
  return result.rows.map((row) => row.id);
}

async function exportedIds(args: string[]): Promise<string[]> {
  const result = await runCli(['export', ...args, '--format', 'jsonl'], t.cliEnv());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const ids = result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  return [...new Set(ids)].sort();
}

const CASES: Array<{ match: string; expected: () => SQL }> = [
  {
    match: 'christmas AND (fyp OR foryou) NOT ad',
    expected: () => sql`((${has('christmas')} intersect (${has('fyp')} union ${has('foryou')})) except ${has('ad')})`,
  },
  { match: 'NOT christmas', expected: () => sql`(${ALL} except ${has('christmas')})` },
  { match: '#ad OR xmas', expected: () => sql`(${has('ad')} union ${has('xmas')})` },
  { match: '930006 AND NOT (foryou OR ad)', expected: () => sql`(${hasId('930006')} except (${has('foryou')} union ${has('ad')}))` },
  { match: 'SNOW and not 930006', expected: () => sql`(${has('snow')} except ${hasId('930006')})` },
];

describe('--match selections', () => {
  for (const { match, expected } of CASES) {
    it(`export --match "${match}" selects exactly the SQL set operation's videos`, async () => {
      const want = await sqlIds(expected());
      expect(want.length).toBeGreaterThan(0);
      expect(await exportedIds(['--match', match])).toEqual(want);
    });
  }

  it('hashtags given with --match narrow it to the videos archived under them', async () => {
    const want = await sqlIds(sql`((select video_id as id from hashtag_videos where hashtag_id = '930002') intersect ${has('christmas')})`);
    expect(want.length).toBeGreaterThan(0);
    expect(await exportedIds(['930002', '--match', 'christmas'])).toEqual(want);
  });

  it('stats --match counts each selected video once', async () => {
    const want = await sqlIds(sql`(${has('fyp')} except ${has('ad')})`);
    const result = await runCli(['stats', '--match', 'fyp NOT ad', '--json'], t.cliEnv());
    expect(result.stderr).toBe('');
    const stats = JSON.parse(result.stdout) as { videos: number; selection: { match: string; hashtagIds: null } };
    expect(stats.videos).toBe(want.length);
    expect(stats.selection).toEqual({ hashtagIds: null, since: null, match: '(#fyp AND NOT #ad)' });
    const text = await runCli(['stats', '--match', 'fyp NOT ad'], t.cliEnv());
    expect(text.stdout).toMatch(new RegExp(`^selection    all hashtags, matching \\(#fyp AND NOT #ad\\)\nvideos       ${want.length}\n`));
  });

  it('a malformed --match is one line naming the position, before anything is read', async () => {
    for (const command of [['export', '--format', 'jsonl'], ['stats']]) {
      const result = await runCli([...command, '--match', 'christmas AND (fyp OR'], t.cliEnv({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }));
      expectOneLineError(result, /^error: --match: position 22: expected 'NOT', '\(' or a hashtag but found the end/, 2);
    }
  });

  it('without hashtags or --match, says to give one', async () => {
    expectOneLineError(await runCli(['export', '--format', 'jsonl'], t.cliEnv()), /^error: give hashtags .* or --match/, 2);
  });
});
