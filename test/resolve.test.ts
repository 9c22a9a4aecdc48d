import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { ConfigError, type Config } from '../src/config.js';
import { UnknownHashtagError } from '../src/crawlora/detail.js';
import { RateLimitedError, TransientError } from '../src/crawlora/errors.js';
import { parseHashtagRef } from '../src/crawlora/hashtag-ref.js';
import { creditLedger, hashtags } from '../src/db/schema.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { hashtagIdForName } from '../src/sim/server.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, crawlAndWait } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 95, rejectKeys: ['revoked-key'] } });

beforeEach(() => t.sim.reset());
afterEach(() => t.sim.configure({ faults: [] }));

const db = () => t.app.database.db;

async function cachedRows(name: string) {
  return db().select().from(hashtags).where(eq(hashtags.name, name));
}

async function detailCharges(hashtagId: string | null) {
  const rows = await db().select().from(creditLedger).where(eq(creditLedger.endpoint, 'hashtag-detail'));
  return rows.filter((row) => row.hashtagId === hashtagId);
}

/** An app of its own, under this file's prefix (cleared afterwards), for settings the shared one does not have. */
async function withOtherApp(suffix: string, overrides: Partial<Config>, work: (other: App) => Promise<void>) {
  const other = t.newApp(suffix, overrides);
  try {
    await work(other);
  } finally {
    await other.close();
  }
}

describe('resolving hashtag names through the detail endpoint', () => {
  it('asks Crawlora once, records 8 credits, caches the detail, and answers later uses from the cache', async () => {
    const [first] = await t.app.hashtags.resolve(['christmas']);
    const id = hashtagIdForName('christmas');
    expect(first).toMatchObject({ fromCache: false, hashtag: { id, name: 'christmas', title: 'christmas', videoCount: 95 } });
    expect(first!.hashtag.viewCount).toBeGreaterThan(0);

    const [second] = await t.app.hashtags.resolve(['christmas']);
    expect(second).toMatchObject({ fromCache: true, hashtag: { id } });
    expect(t.sim.stats().detailRequests).toBe(1);

    const charges = await detailCharges(id);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ credits: 8, runId: null, endpoint: 'hashtag-detail' });
    const [row] = await cachedRows('christmas');
    expect(row!.detail).toMatchObject({ data: { challengeInfo: { challenge: { id }, stats: { videoCount: 95 } } } });
  });

  it('treats #NewYear and newyear as the same hashtag: one request, one row', async () => {
    const resolved = await t.app.hashtags.resolveRefs([parseHashtagRef('#NewYear'), parseHashtagRef('newyear')]);
    expect(resolved.map((hashtag) => hashtag.id)).toEqual([hashtagIdForName('newyear'), hashtagIdForName('newyear')]);
    expect(t.sim.stats().detailRequests).toBe(1);
    expect(await cachedRows('newyear')).toHaveLength(1);
  });

  it('crawls a hashtag given by name under its id, resolving the name once over two crawls', async () => {
    const id = hashtagIdForName('halloween');
    for (let crawl = 0; crawl < 2; crawl += 1) {
      const [resolved] = await t.app.hashtags.resolveRefs([parseHashtagRef('#Halloween')]);
      const [run] = await crawlAndWait(t.app, [resolved!.id]);
      expect(run).toMatchObject({ hashtagId: id, status: 'completed', items: 95 });
    }
    expect(t.sim.stats().detailRequests).toBe(1);
    expect(await archivedIds(db(), id)).toEqual(catalogueIds(id, 95).sort());
  });

  it('asks again with refresh, and replaces the cached detail', async () => {
    const id = hashtagIdForName('easter');
    const [before] = await t.app.hashtags.resolve(['easter']);
    t.sim.configure({ hashtags: { [id]: { size: 120 } } });
    const [after] = await t.app.hashtags.resolve(['easter'], { refresh: true });
    expect(after).toMatchObject({ fromCache: false, hashtag: { id, videoCount: 120 } });
    expect(after!.hashtag.resolvedAt.getTime()).toBeGreaterThanOrEqual(before!.hashtag.resolvedAt.getTime());
    expect(t.sim.stats().detailRequests).toBe(2);
    expect(await cachedRows('easter')).toEqual([expect.objectContaining({ videoCount: 120 })]);
    expect(await detailCharges(id)).toHaveLength(2);
  });

  it('refuses an unknown hashtag with one line naming it, caches nothing, and records the billed answer', async () => {
    const failure = t.app.hashtags.resolve(['unknownfoo']);
    await expect(failure).rejects.toBeInstanceOf(UnknownHashtagError);
    await expect(failure).rejects.toThrow(/^hashtag 'unknownfoo' does not exist on TikTok \(Crawlora status 10205: hashtag not found\)[^\n]*$/);
    expect(t.sim.stats().detailRequests).toBe(1);
    expect(await cachedRows('unknownfoo')).toHaveLength(0);
    expect(await detailCharges(null)).toHaveLength(1);
  });

  it('retries server errors and succeeds, paying only for the answer that came back', async () => {
    t.sim.configure({ faults: [{ kind: '500', endpoint: 'detail', times: 2 }] });
    const [resolved] = await t.app.hashtags.resolve(['valentine']);
    expect(resolved!.hashtag.id).toBe(hashtagIdForName('valentine'));
    expect(t.sim.stats().detailRequests).toBe(3);
    expect(await detailCharges(hashtagIdForName('valentine'))).toHaveLength(1);
  });

  it('gives up after a few server errors with one line naming the hashtag', async () => {
    t.sim.configure({ faults: [{ kind: '500', endpoint: 'detail' }] });
    const failure = t.app.hashtags.resolve(['diwali']);
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow(/^cannot resolve hashtag 'diwali' after 5 attempts: Crawlora answered HTTP 500[^\n]*$/);
    expect(t.sim.stats().detailRequests).toBe(5);
    expect(await cachedRows('diwali')).toHaveLength(0);
  });

  it('waits out a 429 on the same key and then resolves', async () => {
    t.sim.configure({ faults: [{ kind: '429', endpoint: 'detail', times: 1 }] });
    const [resolved] = await t.app.hashtags.resolve(['eid']);
    expect(resolved!.hashtag.id).toBe(hashtagIdForName('eid'));
    expect(t.sim.stats().detailRequests).toBe(2);
  });

  it('says every key was refused when Crawlora refuses the only key', async () => {
    await withOtherApp('revoked', { apiKeys: ['revoked-key'] }, async (other) => {
      const failure = other.hashtags.resolve(['thanksgiving']);
      await expect(failure).rejects.toBeInstanceOf(ConfigError);
      await expect(failure).rejects.toThrow(/cannot resolve hashtag 'thanksgiving': every API key was refused by Crawlora \(401\/403\); set a valid CRAWLORA_API_KEY/);
    });
    expect(t.sim.stats().detailRequests).toBe(1);
  });

  it("sends nothing when the key's daily cap has no room for the 8 credits", async () => {
    await withOtherApp('capped', { dailyCredits: 4 }, async (other) => {
      const failure = other.hashtags.resolve(['hanukkah']);
      await expect(failure).rejects.toBeInstanceOf(RateLimitedError);
      await expect(failure).rejects.toThrow(/cannot resolve hashtag 'hanukkah': key key_\w+ reached its daily cap of 4 credits/);
    });
    expect(t.sim.stats().detailRequests).toBe(0);
  });
});
