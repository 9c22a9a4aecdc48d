import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawItem } from '../src/crawlora/schema.js';
import { itemsJsonbForPostgres } from '../src/db/items-json.js';
import { commitPage } from '../src/db/pages.js';
import { createRuns } from '../src/db/runs.js';
import { videos } from '../src/db/schema.js';
import { dedupeById, sanitizeForPostgres, toVideoColumns } from '../src/db/video-row.js';
import { freshDatabase, type TestDatabase } from './support/services.js';

/** A page body as upstream writes it: JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX. */
const bodyOf = (items: unknown[]) => JSON.stringify({ code: 200, data: { cursor: '30', hasMore: true, itemList: items, statusCode: 0 } });
/** The JSON text of a binary jsonb parameter: what follows its version byte. */
const textOf = (jsonb: Buffer) => {
  expect(jsonb[0]).toBe(1);
  return jsonb.subarray(1).toString('utf8');
};
const itemsJson = (body: string | Buffer, items: readonly RawItem[]) => textOf(itemsJsonbForPostgres(Buffer.from(body), items));
const storedItems = (json: string) => (JSON.parse(json) as { data: { itemList: unknown[] } }).data.itemList;

describe('itemsJsonbForPostgres', () => {
  it('passes a clean answer through as the very same bytes', () => {
    const body = bodyOf([{ id: '1', desc: 'say "hi" \\ it\'s 🎄', url: 'https://x/?a=1\u0026b=2' }]);
    expect(itemsJson(body, [])).toBe(body);
  });

  it('rebuilds the items from the parsed ones when the bytes are not UTF-8', () => {
    const items = [{ id: '1', desc: 'ok' }];
    const bytes = Buffer.concat([Buffer.from(bodyOf(items).slice(0, -1)), Buffer.from([0xff, 0x7d])]);
    expect(storedItems(itemsJson(bytes, items))).toEqual(items);
  });

  it('drops \\u0000 escapes but keeps an escaped backslash followed by the letters u0000', () => {
    const body = String.raw`{"data":{"itemList":[{"id":"1","a":"x\u0000y","b":"p\\u0000q","c":"\\\u0000","k\u0000":1}]}}`;
    expect(storedItems(itemsJson(body, []))).toEqual([{ id: '1', a: 'xy', b: 'p\\u0000q', c: '\\', k: 1 }]);
  });

  it('rebuilds on a surrogate escape in either case, but not on an escaped backslash followed by the letters ud83c', () => {
    const upper = String.raw`{"data":{"itemList":[{"id":"1","desc":"half \uD83C"}]}}`;
    expect(storedItems(itemsJson(upper, [{ id: '1', desc: 'half \ud83c' }]))).toEqual([{ id: '1', desc: 'half \ufffd' }]);
    const literal = String.raw`{"data":{"itemList":[{"id":"1","desc":"\\ud83c"}]}}`;
    expect(itemsJson(literal, [])).toBe(literal);
  });

  it('stores what sanitizeForPostgres makes of the parsed items, whatever the text holds', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '\\', 'u', '0', '"', '\u0000', '\ud83c', '\udf84', '🎄', 'd', '8') });
    fc.assert(
      fc.property(fc.array(fc.record({ desc: text, nested: fc.array(text, { maxLength: 2 }) }), { maxLength: 4 }), (fields) => {
        const items = fields.map((item, index) => ({ id: String(index + 1), ...item }));
        const json = itemsJson(bodyOf(items), items);
        expect(json).not.toMatch(/(?<!\\)(?:\\\\)*\\u0000/);
        expect(storedItems(json)).toEqual(items.map(sanitizeForPostgres));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a committed page stores each item as it came, cleaned', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(() => database.drop());

  it('keeps the last of repeated items, without NULs and with half emoji replaced, and skips items without a string id', async () => {
    const db = database.database.db;
    const items = [
      { id: '7300000000000000001', desc: 'first', nested: { note: 'old' } },
      { id: '7300000000000000002', desc: 'nul\u0000 and half \ud83c emoji', author: { uniqueId: 'a\u0000b' } },
      { id: 7300000000000000003, desc: 'numeric id' },
      { id: '7300000000000000001', desc: 'first, again', nested: { note: 'new' } },
    ];
    const body = bodyOf(items);
    const parsed = (JSON.parse(body) as { data: { itemList: unknown[] } }).data.itemList.filter(
      (item): item is RawItem => typeof (item as { id: unknown }).id === 'string',
    );
    const [run] = await createRuns(db, [{ hashtagId: '301', maxPages: null, maxItems: null, mode: 'full' }]);
    await commitPage(db, {
      runId: run!.id,
      hashtagId: '301',
      pageNumber: 0,
      cursor: '0',
      hasMore: false,
      logId: null,
      fatalItemIds: null,
      keyFingerprint: 'test-key',
      chargeId: randomUUID(),
      chargedAt: new Date(),
      rows: dedupeById(parsed).map(toVideoColumns),
      itemsJson: itemsJsonbForPostgres(Buffer.from(body), parsed),
      credits: 8,
      decide: (newItems) => ({ kind: 'stop', reason: 'end', emptyStreak: 0, staleStreak: newItems }),
    });

    const stored = await db.select({ id: videos.id, raw: videos.raw, description: videos.description, authorUniqueId: videos.authorUniqueId }).from(videos).orderBy(videos.id);
    expect(stored.map((row) => row.id)).toEqual(['7300000000000000001', '7300000000000000002']);
    expect(stored[0]!.raw).toEqual({ id: '7300000000000000001', desc: 'first, again', nested: { note: 'new' } });
    expect(stored[1]!.raw).toEqual(sanitizeForPostgres(parsed[1]));
    expect(stored[1]).toMatchObject({ description: 'nul and half \ufffd emoji', authorUniqueId: 'ab' });
    const [second] = await db.select({ raw: videos.raw }).from(videos).where(eq(videos.id, '7300000000000000002'));
    expect(JSON.stringify(second!.raw)).not.toContain('\\u0000');
  });
});
